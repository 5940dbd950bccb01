"""API bodies of the registry scope: registries, links and aliases."""

from __future__ import annotations

import re
from typing import Annotated

from ninja import Schema
from pydantic import Field

from projects.schemas import Alias
from teams.schemas import Name

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


class RegistryIn(Schema):
    name: Name
    description: Annotated[str, Field(strict=True, max_length=2000)] = ""


class LinkIn(Schema):
    artifact: Annotated[str, Field(strict=True, max_length=512)]
    aliases: list[Alias] = Field(default_factory=list, max_length=100)
