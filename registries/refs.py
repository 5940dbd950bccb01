"""References typed by people and scripts to name a version: the source of a link
(``mnist/model:v3``) and a linked version (``classifier:production``), each with an
alias in place of the version if they like."""

from __future__ import annotations

import re

from django.core.exceptions import ObjectDoesNotExist

from projects.models import ArtifactVersion, lookup_version
from registries.models import LinkedVersion, Registry
from teams.models import Team

_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
# "{project}/{artifact}:{version-or-alias}", optionally prefixed with "{team}/".
SOURCE_RE = re.compile(
    rf"^(?:(?P<team>{_NAME})/)?(?P<project>{_NAME})/(?P<artifact>{_NAME}):(?P<version>{_NAME})$"
)
SOURCE_MESSAGE = "Use '{project}/{artifact}:{version or alias}', e.g. 'mnist/my-model:v3'."
# A linked version on the registry page: "{collection}:{version-or-alias}", optionally
# prefixed with "{team}/{registry}/" (its full ref, as the page shows it).
LINKED_RE = re.compile(
    rf"^(?:(?P<team>{_NAME})/(?P<registry>{_NAME})/)?(?P<collection>{_NAME}):(?P<version>{_NAME})$"
)
LINKED_MESSAGE = "Use '{collection}:{version or alias}', e.g. 'classifier:v2'."


def find_source(team: Team, text: str) -> ArtifactVersion | None:
    """What a link names as its source, ``[{team}/]{project}/{artifact}:{version or
    alias}`` → that version of ``team``'s (with its artifact, project and team), or
    ``None`` when there is none or the ref names another team. Raises ``ValueError``
    (``SOURCE_MESSAGE``) when ``text`` is not such a ref."""
    match = SOURCE_RE.match(text)
    if match is None:
        raise ValueError(SOURCE_MESSAGE)
    if match["team"] not in (None, team.slug):
        return None
    return lookup_version(team, match["project"], match["artifact"], match["version"])


def find_linked(registry: Registry, text: str) -> LinkedVersion | None:
    """``collection:v2``, ``collection:alias`` (or the full ``team/registry/…`` ref) →
    that linked version of ``registry``; ``None`` when there is none. Raises
    ``ValueError`` (``LINKED_MESSAGE``) when ``text`` is not such a ref."""
    match = LINKED_RE.match(text)
    if match is None:
        raise ValueError(LINKED_MESSAGE)
    if match["team"] is not None and (match["team"], match["registry"]) != (
        registry.team.slug, registry.name
    ):
        return None
    collection = registry.collections.filter(name=match["collection"]).first()
    if collection is None:
        return None
    try:
        return collection.resolve(match["version"])
    except ObjectDoesNotExist:
        return None
