"""The model registry: ``/api/2.0/mlflow/registered-models/*`` and ``model-versions/*``.

Registered model → collection of the team's MLflow registry (``TeamSettings``,
default ``model``, created on first use); model version → linked version
(``LINK_ARTIFACT``), keeping MLflow's number beside Beacon's; alias → alias of
the collection (``ADD_ARTIFACT_ALIAS``, registry scope); version tag → tag on the
linked version."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from mlflow_api.calls import Call
from mlflow_api.errors import MlflowError, invalid, not_found
from mlflow_api.logged_models import MODEL_TYPE, find_model, model_version
from mlflow_api.mapping import find_run, millis, strict_tag_label, valid_name
from mlflow_api.models import LoggedModel, ModelVersion, RegisteredModel, TeamSettings
from mlflow_api.runs import parse_pairs
from mlflow_api.search import Page, parse_filter
from mlflow_api.shapes import key_values
from projects import files
from projects.models import Artifact, ArtifactVersion, Source, TaggedMixin
from registries.models import Collection, Registry
from teams.models import Team

_RUNS_URI = re.compile(r"^runs:/([^/]+)/?(.*)$")
_MODELS_URI = re.compile(r"^models:/(m-[0-9a-f]+)/?$")
_ARTIFACTS_URI = re.compile(r"^mlflow-artifacts:/+(.*)$")


def team_registry(team: Team) -> Registry:
    name = (
        TeamSettings.objects.filter(team=team).values_list("registry_name", flat=True).first()
        or "model"
    )
    try:
        with transaction.atomic():
            registry, _ = Registry.objects.get_or_create(team=team, name=name)
    except IntegrityError:  # created concurrently
        registry = Registry.objects.get(team=team, name=name)
    return registry


# --- shapes ------------------------------------------------------------------------


def version_out(mv: ModelVersion) -> dict[str, Any]:
    linked = mv.linked
    return {
        "name": mv.registered_model.name,
        "version": str(mv.version),
        "creation_timestamp": millis(mv.created_at),
        "last_updated_timestamp": millis(mv.updated_at),
        "user_id": mv.user_id,
        "current_stage": "None",
        "description": mv.description,
        "source": mv.source,
        "run_id": mv.run_id,
        "status": "READY",
        "tags": key_values(mv.tags),
        "aliases": linked.alias_names(),
        "model_id": mv.model_id,
    }


def model_out(rm: RegisteredModel, *, with_latest: bool = True) -> dict[str, Any]:
    versions = {mv.linked_id: mv for mv in rm.versions.select_related("linked")}
    aliases = [
        {"alias": a.alias, "version": str(versions[a.version_id].version)}
        for a in rm.collection.aliases.order_by("alias")
        if a.version_id in versions
    ]
    out: dict[str, Any] = {
        "name": rm.name,
        "creation_timestamp": millis(rm.created_at),
        "last_updated_timestamp": millis(rm.updated_at),
        "description": rm.description,
        "tags": key_values(rm.tags),
        "aliases": aliases,
    }
    if with_latest and versions:
        latest = max(versions.values(), key=lambda mv: mv.version)
        out["latest_versions"] = [version_out(latest)]
    return out


# --- lookups -----------------------------------------------------------------------


def find_model_by_name(call: Call, name: str) -> RegisteredModel:
    rm = RegisteredModel.objects.select_related("collection__registry__team").filter(
        team=call.team, name=name
    ).first()
    if rm is None:
        raise not_found(f"Registered Model with name={name} not found")
    return rm


def find_version(call: Call, name: str, version: str) -> ModelVersion:
    rm = find_model_by_name(call, name)
    if not version.isdigit() or len(version) > 9:
        raise invalid(f"Model version must be a positive integer, got {version!r}.")
    mv = rm.versions.select_related("linked__collection__registry__team", "registered_model") \
        .filter(version=int(version)).first()
    if mv is None:
        raise not_found(f"Model Version (name={name}, version={version}) not found")
    return mv


def _name(call: Call) -> str:
    name = call.str("name", required=True)
    if len(name) > 256:
        raise invalid("Registered model names are at most 256 characters.")
    return name


def create_registered_model(call: Call, name: str, tags: dict[str, str],
                            description: str) -> RegisteredModel:
    registry = team_registry(call.team)
    base = valid_name(name, fallback="model")
    with transaction.atomic():
        if RegisteredModel.objects.filter(team=call.team, name=name).exists():
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
            )
        for attempt in range(1, 1000):
            candidate = base if attempt == 1 else f"{base[:120]}-{attempt}"
            collection, _ = Collection.objects.get_or_create(registry=registry, name=candidate)
            if not RegisteredModel.objects.filter(collection=collection).exists():
                break
        else:
            raise invalid(f"No free collection name for model {name!r}.")
        try:
            with transaction.atomic():
                return RegisteredModel.objects.create(
                    team=call.team, collection=collection, name=name, tags=tags,
                    description=description,
                )
        except IntegrityError:
            raise MlflowError(
                "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
            ) from None


# --- registered models ---------------------------------------------------------------


def create_model(call: Call) -> dict[str, Any]:
    call.need_write()
    name = _name(call)
    tags = dict(parse_pairs(call.list("tags"), "tag", 8000))
    with transaction.atomic():
        rm = create_registered_model(call, name, tags, call.str("description"))
        for key, value in tags.items():
            rm.collection.add_tag(strict_tag_label(key, value), call.user)
    return {"registered_model": model_out(rm)}


def get_model(call: Call) -> dict[str, Any]:
    return {"registered_model": model_out(find_model_by_name(call, _name(call)))}


def search_models(call: Call) -> dict[str, Any]:
    matches = parse_filter(call.str("filter"))
    page = Page.from_call(call, default=100, limit=1000)
    models = RegisteredModel.objects.filter(team=call.team).select_related("collection") \
        .order_by("name")
    chosen = [
        rm for rm in models
        if matches({"attributes": {"name": rm.name}, "tags": dict(rm.tags),
                    "metrics": {}, "params": {}})
    ]
    items, token = page.cut(chosen)
    out: dict[str, Any] = {"registered_models": [model_out(rm) for rm in items]}
    if token:
        out["next_page_token"] = token
    return out


def _set_tag(
    owner: RegisteredModel | ModelVersion, tagged: TaggedMixin, key: str, value: str, user: Any
) -> None:
    """Set MLflow tag ``key`` on ``owner`` (a registered model or model version) and
    mirror it as the label ``key.value`` on ``tagged`` (its collection or linked
    version); a new value for a key replaces the old label. Call inside a transaction."""
    old = owner.tags.get(key)
    if old is not None and old != value:
        tagged.remove_tag(strict_tag_label(key, old), user)
    owner.tags = {**owner.tags, key: value}
    owner.updated_at = timezone.now()
    owner.save(update_fields=["tags", "updated_at"])
    tagged.add_tag(strict_tag_label(key, value), user)


def _delete_tag(
    owner: RegisteredModel | ModelVersion, tagged: TaggedMixin, key: str, user: Any
) -> None:
    """Drop MLflow tag ``key`` (present) from ``owner`` and its label from ``tagged``."""
    tagged.remove_tag(strict_tag_label(key, owner.tags[key]), user)
    owner.tags = {k: v for k, v in owner.tags.items() if k != key}
    owner.save(update_fields=["tags"])


def set_model_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    (key, value), = parse_pairs([call.data], "tag", 8000)
    with transaction.atomic():
        rm = find_model_by_name(call, _name(call))
        _set_tag(rm, rm.collection, key, value, call.user)
    return {}


def delete_model_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    key = call.str("key", required=True)
    with transaction.atomic():
        rm = find_model_by_name(call, _name(call))
        if key not in rm.tags:
            raise not_found(f"No tag with key {key!r} on registered model {rm.name}.")
        _delete_tag(rm, rm.collection, key, call.user)
    return {}


def latest_versions(call: Call) -> dict[str, Any]:
    rm = find_model_by_name(call, _name(call))
    latest = rm.versions.select_related("linked", "registered_model").order_by("-version").first()
    return {"model_versions": [version_out(latest)] if latest else []}


# --- model versions ---------------------------------------------------------------


def source_version(call: Call, rm: RegisteredModel, source: str, run_id: str,
                   model_id: str) -> tuple[ArtifactVersion, str]:
    """The artifact version a new model version links, and the logged model's id."""
    if not model_id:
        m = _MODELS_URI.match(source)
        model_id = m.group(1) if m else ""
    if model_id:
        model = find_model(call, model_id, lock=True)
        return model_version(model, call.user), model.model_id
    folder = None
    project = None
    m = _RUNS_URI.match(source)
    if m or run_id:
        run = find_run(call.team, m.group(1) if m else run_id)
        sub = m.group(2) if m else ""
        logged = LoggedModel.objects.filter(run=run, name=sub.strip("/")).order_by(
            "-created_at").first() if sub else None
        if logged is not None:
            return model_version(logged, call.user), logged.model_id
        project, folder = run.project, files.run_folder(run)
        if sub:
            try:
                folder = files.resolve(folder, sub)
            except ValueError as exc:
                raise invalid(str(exc)) from None
    elif (a := _ARTIFACTS_URI.match(source)) is not None:
        from mlflow_api.artifacts import locate

        where = locate(call, a.group(1))
        project, folder = where.project, files.resolve(where.folder, where.rel)
    if folder is None or project is None:
        raise invalid(
            f"Unsupported model version source {source[:200]!r}: use models:/<model id>, "
            "runs:/<run id>/<path> or an mlflow-artifacts: URI of this team."
        )
    name = valid_name(rm.name, fallback="model")
    existing = project.artifacts.filter(name=name).first()
    if existing is not None and existing.type != MODEL_TYPE:
        name = valid_name(f"{name}-model")
    version, _ = Artifact.log_version(
        project, name=name, type=MODEL_TYPE, digest=files.digest(folder),
        metadata={"mlflow_source": source}, author=call.user, source=Source.MLFLOW,
    )
    return version, ""


def create_version(call: Call) -> dict[str, Any]:
    call.need_write()
    name = _name(call)
    source = call.str("source")
    run_id = call.str("run_id")
    model_id = call.str("model_id")
    tags = parse_pairs(call.list("tags"), "tag", 8000)
    description = call.str("description")
    if len(source) > 1024:
        raise invalid("Model version sources are at most 1024 characters.")
    with transaction.atomic():
        rm = RegisteredModel.objects.select_for_update().filter(team=call.team, name=name).first()
        if rm is None:
            raise not_found(f"Registered Model with name={name} not found")
        artifact_version, model_id = source_version(call, rm, source, run_id, model_id)
        linked = rm.collection.registry.link(
            rm.collection.name, artifact_version, aliases=[], author=call.user,
            via=Source.MLFLOW,
        )
        number = max(rm.next_version, (rm.versions.aggregate(top=Max("version"))["top"] or 0) + 1)
        mv = ModelVersion.objects.create(
            registered_model=rm, linked=linked, version=number, source=source,
            run_id=run_id, model_id=model_id, description=description,
            user_id=getattr(call.user, "username", ""), tags=dict(tags),
        )
        for key, value in tags:
            linked.add_tag(strict_tag_label(key, value), call.user)
        rm.next_version = number + 1
        rm.updated_at = timezone.now()
        rm.save(update_fields=["next_version", "updated_at"])
    return {"model_version": version_out(mv)}


def delete_version(call: Call) -> dict[str, Any]:
    """The linked version is unlinked (``UNLINK_ARTIFACT``); its number is not reused."""
    call.need_write()
    mv = find_version(call, _name(call), call.str("version", required=True))
    mv.linked.unlink(call.user)
    return {}


def get_version(call: Call) -> dict[str, Any]:
    mv = find_version(call, _name(call), call.str("version", required=True))
    return {"model_version": version_out(mv)}


def download_uri(call: Call) -> dict[str, Any]:
    mv = find_version(call, _name(call), call.str("version", required=True))
    return {"artifact_uri": mv.source}


def search_versions(call: Call) -> dict[str, Any]:
    matches = parse_filter(call.str("filter"))
    page = Page.from_call(call, default=10000, limit=200000)
    versions = ModelVersion.objects.filter(registered_model__team=call.team).select_related(
        "registered_model", "linked"
    ).order_by("registered_model__name", "-version")
    chosen = [
        mv for mv in versions
        if matches({
            "attributes": {"name": mv.registered_model.name, "run_id": mv.run_id,
                           "source": mv.source, "version": str(mv.version),
                           "model_id": mv.model_id},
            "tags": dict(mv.tags), "metrics": {}, "params": {},
        })
    ]
    items, token = page.cut(chosen)
    out: dict[str, Any] = {"model_versions": [version_out(mv) for mv in items]}
    if token:
        out["next_page_token"] = token
    return out


def set_version_tag(call: Call) -> dict[str, Any]:
    """The tag lands on the linked version as ``key.value`` (``ADD_ARTIFACT_TAG``);
    a new value for a key replaces the old label."""
    call.need_write()
    (key, value), = parse_pairs([call.data], "tag", 8000)
    with transaction.atomic():
        mv = find_version(call, _name(call), call.str("version", required=True))
        mv = ModelVersion.objects.select_for_update(of=("self",)).select_related(
            "linked__collection__registry__team", "registered_model").get(pk=mv.pk)
        _set_tag(mv, mv.linked, key, value, call.user)
    return {}


def delete_version_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    key = call.str("key", required=True)
    with transaction.atomic():
        mv = find_version(call, _name(call), call.str("version", required=True))
        if key not in mv.tags:
            raise not_found(f"No tag with key {key!r} on this model version.")
        _delete_tag(mv, mv.linked, key, call.user)
    return {}


# --- aliases -------------------------------------------------------------------------


def _alias(call: Call) -> str:
    alias = call.str("alias", required=True)
    if alias.lower() == "latest":
        raise invalid("'latest' is a reserved alias name.")
    return alias


def set_alias(call: Call) -> dict[str, Any]:
    call.need_write()
    alias = _alias(call)
    with transaction.atomic():
        mv = find_version(call, _name(call), call.str("version", required=True))
        try:
            mv.linked.add_alias(alias, call.user)
        except ValueError as exc:
            raise invalid(str(exc)) from None
    return {}


def delete_alias(call: Call) -> dict[str, Any]:
    call.need_write()
    alias = _alias(call)
    rm = find_model_by_name(call, _name(call))
    rm.collection.remove_alias(alias)
    return {}


def get_by_alias(call: Call) -> dict[str, Any]:
    alias = _alias(call)
    rm = find_model_by_name(call, _name(call))
    held = rm.collection.aliases.filter(alias=alias).first()
    mv = ModelVersion.objects.select_related("registered_model", "linked").filter(
        linked_id=held.version_id if held else None
    ).first()
    if mv is None:
        raise not_found(f"Registered model alias {alias} not found.")
    return {"model_version": version_out(mv)}
