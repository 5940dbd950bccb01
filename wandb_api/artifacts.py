"""W&B artifacts → Beacon artifact versions and registry links (domain methods only)."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from projects.models import Artifact, ArtifactVersion, Project, Source
from registries.models import Registry
from teams.models import Team
from wandb_api.models import WandbArtifact
from wandb_api.runs import ProtocolError, jsonable, project_for_write, writable_team

REGISTRY_PREFIX = "wandb-registry-"
LEGACY_MODEL_REGISTRY = "model-registry"


def node_for_version(version: ArtifactVersion) -> WandbArtifact:
    """The W&B artifact of a Beacon version (made for versions logged another way)."""
    found = WandbArtifact.objects.filter(version=version).order_by("pk").first()
    if found is not None:
        return found
    artifact = version.artifact
    return WandbArtifact.objects.create(
        project=artifact.project,
        name=artifact.name,
        type=artifact.type,
        digest=version.digest,
        metadata=version.metadata,
        state=WandbArtifact.State.COMMITTED,
        version=version,
    )


def resolve_name(project: Project, name: str) -> WandbArtifact | None:
    """``name:v3`` / ``name:alias`` / ``name`` (latest) in ``project``."""
    base, _, which = name.partition(":")
    artifact = project.artifacts.filter(name=base).first()
    if artifact is None:
        return None
    try:
        version = artifact.resolve(which or "latest") if which else artifact.latest()
    except ArtifactVersion.DoesNotExist:
        return None
    except Exception:
        return None
    return node_for_version(version) if version else None


def by_id(pk: int | None, user: Any) -> WandbArtifact:
    wa = (
        WandbArtifact.objects.select_related("project__team", "version").filter(pk=pk).first()
        if pk is not None
        else None
    )
    if wa is None:
        raise ProtocolError("No such artifact.")
    writable_team(user, wa.project.team.slug)
    return wa


def create(user: Any, data: dict[str, Any]) -> WandbArtifact:
    """``createArtifact``: the same digest as the newest version answers that version
    (``COMMITTED``, nothing to upload, nothing emitted); otherwise a pending artifact."""
    team = writable_team(user, data.get("entityName"))
    project = project_for_write(team, data.get("projectName"))
    names = data.get("artifactCollectionNames") or [data.get("artifactCollectionName")]
    name = names[0] if names and names[0] else None
    if not name:
        raise ProtocolError("An artifact needs a name.")
    type_name = data["artifactTypeName"]
    existing = project.artifacts.filter(name=name).first()
    if existing is not None:
        if existing.type != type_name:
            raise ProtocolError(
                f"Artifact {name} has type {existing.type!r}, not {type_name!r}; use another name."
            )
        newest = existing.latest()
        if newest is not None and newest.digest == data["digest"]:
            return node_for_version(newest)
    metadata = _json_object(data.get("metadata"))
    aliases = [
        a["alias"]
        for a in data.get("aliases") or []
        if a.get("artifactCollectionName") in (None, name)
    ]
    run = None
    if data.get("runName"):
        run = project.runs.filter(run_id=data["runName"]).first()
    return WandbArtifact.objects.create(
        project=project,
        run=run,
        name=name,
        type=type_name,
        digest=data["digest"],
        description=data.get("description") or "",
        metadata=metadata,
        aliases=list(dict.fromkeys(aliases)),
        client_id=data.get("clientID") or "",
    )


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return jsonable(value) if isinstance(value, dict) else {}


def commit(user: Any, wa: WandbArtifact) -> WandbArtifact:
    """``commitArtifact``: log the Beacon version (CREATE_ARTIFACT, ADD_ARTIFACT_ALIAS)."""
    if wa.state == WandbArtifact.State.COMMITTED:
        return wa
    with transaction.atomic():
        locked = WandbArtifact.objects.select_for_update().get(pk=wa.pk)
        if locked.state == WandbArtifact.State.COMMITTED:
            return locked
        try:
            version, _ = Artifact.log_version(
                wa.project,
                name=wa.name,
                type=wa.type,
                digest=wa.digest,
                metadata=wa.metadata,
                aliases=[a for a in wa.aliases if _valid_alias(a)],
                author=user,
                source=Source.WANDB,
            )
        except ValueError as exc:
            raise ProtocolError(str(exc)) from exc
        locked.version = version
        locked.state = WandbArtifact.State.COMMITTED
        locked.save(update_fields=["version", "state"])
    return locked


def _valid_alias(alias: str) -> bool:
    from projects.models import validate_alias

    try:
        validate_alias(alias)
    except ValueError:
        return False
    return True


def update(user: Any, wa: WandbArtifact, data: dict[str, Any]) -> WandbArtifact:
    """``updateArtifact``: metadata/description before commit; aliases move afterwards."""
    fields = []
    if data.get("metadata") is not None and wa.state == WandbArtifact.State.PENDING:
        wa.metadata = _json_object(data["metadata"])
        fields.append("metadata")
    if data.get("description") is not None:
        wa.description = data["description"]
        fields.append("description")
    if fields:
        wa.save(update_fields=fields)
    if wa.version is not None:
        for alias in data.get("aliases") or []:
            if _valid_alias(alias["alias"]):
                wa.version.add_alias(alias["alias"], user)
    return wa


def registry_named(team: Team, project_name: str) -> Registry | None:
    """``wandb-registry-<name>`` → that registry of the team; ``model-registry`` → ``model``."""
    if project_name.startswith(REGISTRY_PREFIX):
        name = project_name[len(REGISTRY_PREFIX) :]
    elif project_name == LEGACY_MODEL_REGISTRY:
        name = "model"
    else:
        return None
    return team.registries.select_related("team").filter(name=name).first()


def registry_for(user: Any, entity: str, project_name: str) -> Registry:
    team: Team = writable_team(user, entity)
    if not (project_name.startswith(REGISTRY_PREFIX) or project_name == LEGACY_MODEL_REGISTRY):
        raise ProtocolError(
            f"Link into a registry project ({REGISTRY_PREFIX}<name> or {LEGACY_MODEL_REGISTRY})."
        )
    registry = registry_named(team, project_name)
    if registry is None:
        raise ProtocolError(f"Team {team.slug} has no registry for {project_name}.")
    return registry


def link(user: Any, data: dict[str, Any]) -> int:
    """``linkArtifact`` → ``Registry.link`` (LINK_ARTIFACT, then registry ADD_ARTIFACT_ALIAS)."""
    from wandb_api.nodes import parse_id

    pk = parse_id("Artifact", data.get("artifactID"))
    if pk is None and data.get("clientID"):
        found = WandbArtifact.objects.filter(client_id=data["clientID"]).order_by("-pk").first()
        pk = found.pk if found else None
    wa = by_id(pk, user)
    if wa.state != WandbArtifact.State.COMMITTED:
        wa = commit(user, wa)
    registry = registry_for(user, data["entityName"], data["projectName"])
    collection = data["artifactPortfolioName"]
    aliases = [
        a["alias"]
        for a in data.get("aliases") or []
        if a.get("artifactCollectionName") in (None, collection) and _valid_alias(a["alias"])
    ]
    try:
        linked = registry.link(
            collection, wa.version, aliases=list(dict.fromkeys(aliases)), author=user,
            via=Source.WANDB,
        )
    except ValueError as exc:
        raise ProtocolError(str(exc)) from exc
    return linked.index
