"""MLflow 3 logged models: ``/api/2.0/mlflow/logged-models[...]``.

A logged model becomes a ``model`` artifact version of its experiment's project
when the client finalizes it as ready (its files are uploaded by then): that
emits ``CREATE_ARTIFACT`` like Beacon's own artifact API."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from mlflow_api.calls import Call, text
from mlflow_api.errors import invalid, not_found
from mlflow_api.mapping import (
    experiment_id,
    find_run,
    millis,
    project_by_id,
    valid_name,
)
from mlflow_api.models import LoggedModel
from mlflow_api.runs import parse_pairs
from mlflow_api.search import Page, parse_filter
from mlflow_api.shapes import key_values
from projects import files
from projects.models import Artifact, ArtifactVersion, Source

MODEL_TYPE = "model"


def artifact_uri(model: LoggedModel) -> str:
    return f"mlflow-artifacts:/{experiment_id(model.project)}/models/{model.model_id}/artifacts"


def model_out(model: LoggedModel) -> dict[str, Any]:
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": experiment_id(model.project),
        "name": model.name,
        "creation_timestamp_ms": millis(model.created_at),
        "last_updated_timestamp_ms": millis(model.updated_at),
        "artifact_uri": artifact_uri(model),
        "status": model.status,
        "model_type": model.model_type,
        "tags": key_values(model.tags),
    }
    if model.run_id is not None:
        info["source_run_id"] = model.run.run_id
    return {
        "info": info,
        "data": {"params": key_values(model.params), "metrics": list(model.metrics)},
    }


def find_model(call: Call, model_id: str, *, lock: bool = False) -> LoggedModel:
    models = LoggedModel.objects.select_related("project__team", "run", "version")
    if lock:
        models = models.select_for_update(of=("self",))
    model = models.filter(model_id=model_id, project__team=call.team).first()
    if model is None:
        raise not_found(f"Logged model with ID '{model_id}' not found.")
    return model


def create(call: Call) -> dict[str, Any]:
    call.need_write()
    project = project_by_id(call.team, call.str("experiment_id", required=True))
    name = call.str("name") or "model"
    if len(name) > 256:
        raise invalid("Model names are at most 256 characters.")
    run = None
    source_run_id = call.str("source_run_id")
    if source_run_id:
        run = find_run(call.team, source_run_id)
    params = dict(parse_pairs(call.list("params"), "param", 6000))
    tags = dict(parse_pairs(call.list("tags"), "tag", 8000))
    model = LoggedModel.objects.create(
        project=project, run=run, name=name, model_type=call.str("model_type")[:256],
        params=params, tags=tags,
    )
    return {"model": model_out(model)}


def get(call: Call) -> dict[str, Any]:
    return {"model": model_out(find_model(call, call.str("model_id", required=True)))}


def finalize(call: Call) -> dict[str, Any]:
    call.need_write()
    status = call.str("status", required=True)
    if status not in LoggedModel.Status.values:
        raise invalid(f"Invalid logged model status {status!r}.")
    with transaction.atomic():
        model = find_model(call, call.str("model_id", required=True), lock=True)
        model.status = status
        model.updated_at = timezone.now()
        model.save(update_fields=["status", "updated_at"])
        if status == LoggedModel.Status.READY:
            model_version(model, call.user)
    return {"model": model_out(model)}


def model_version(model: LoggedModel, user: Any) -> ArtifactVersion:
    """The logged model's artifact version, logged now if it has none yet
    (``CREATE_ARTIFACT``). Call inside a transaction."""
    if model.version_id is not None:
        return model.version
    folder = files.model_folder(model.project, model.model_id)
    metadata = {
        "mlflow_model_id": model.model_id,
        "mlflow_name": model.name,
        "model_type": model.model_type,
        "run": model.run.run_id if model.run_id else None,
        "artifact_uri": artifact_uri(model),
        "files": [e.path for e in files.walk(folder)][:200],
    }
    name = valid_name(model.name, fallback="model")
    existing = model.project.artifacts.filter(name=name).first()
    if existing is not None and existing.type != MODEL_TYPE:
        name = valid_name(f"{name}-model")
    version, _ = Artifact.log_version(
        model.project,
        name=name,
        type=MODEL_TYPE,
        digest=files.digest(folder),
        metadata=metadata,
        author=user,
        source=Source.MLFLOW,
    )
    model.version = version
    model.save(update_fields=["version"])
    return version


def log_params(call: Call) -> dict[str, Any]:
    call.need_write()
    params = parse_pairs(call.list("params"), "param", 6000)
    with transaction.atomic():
        model = find_model(call, call.str("model_id", required=True), lock=True)
        model.params = {**model.params, **dict(params)}
        model.save(update_fields=["params"])
    return {}


def set_tags(call: Call) -> dict[str, Any]:
    call.need_write()
    tags = parse_pairs(call.list("tags"), "tag", 8000)
    with transaction.atomic():
        model = find_model(call, call.str("model_id", required=True), lock=True)
        model.tags = {**model.tags, **dict(tags)}
        model.save(update_fields=["tags"])
    return {}


def delete_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    key = call.str("tag_key", required=True)
    with transaction.atomic():
        model = find_model(call, call.str("model_id", required=True), lock=True)
        if key not in model.tags:
            raise not_found(f"No tag with key {key!r} on logged model {model.model_id}.")
        model.tags = {k: v for k, v in model.tags.items() if k != key}
        model.save(update_fields=["tags"])
    return {}


def search(call: Call) -> dict[str, Any]:
    ids = [text(i, "experiment_ids") for i in call.list("experiment_ids")]
    projects = [project_by_id(call.team, i) for i in ids]
    matches = parse_filter(call.str("filter"))
    page = Page.from_call(call, default=100, limit=1000)
    models = LoggedModel.objects.select_related("project__team", "run").order_by(
        "-created_at", "-pk"
    )
    models = models.filter(project__in=projects) if ids else models.filter(project__team=call.team)
    chosen = [m for m in models if matches(_entity(m))]
    items, token = page.cut(chosen)
    out: dict[str, Any] = {"models": [model_out(m) for m in items]}
    if token:
        out["next_page_token"] = token
    return out


def _entity(model: LoggedModel) -> dict[str, dict[str, Any]]:
    return {
        "attributes": {
            "name": model.name,
            "model_id": model.model_id,
            "model_type": model.model_type,
            "status": model.status,
            "source_run_id": model.run.run_id if model.run_id else None,
            "creation_timestamp": float(millis(model.created_at)),
            "creation_time": float(millis(model.created_at)),
        },
        "metrics": {m["key"]: m["value"] for m in model.metrics
                    if isinstance(m.get("value"), int | float)},
        "params": dict(model.params),
        "tags": dict(model.tags),
    }
