"""Runs: ``/api/2.0/mlflow/runs/*`` and ``metrics/get-history``.

Every write validates the whole request before it stores anything, and stores
it in one transaction, so a refused request loses nothing and adds nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mlflow_api.calls import Call, double, integer, text
from mlflow_api.errors import MlflowError, invalid
from mlflow_api.mapping import (
    STATUS_TO_STATE,
    author_for,
    beacon_tags,
    find_run,
    millis,
    project_by_id,
    record_of,
)
from mlflow_api.models import LoggedModel, RunRecord
from mlflow_api.search import Page, page_token, parse_filter, parse_order_by, sort_entities
from mlflow_api.shapes import metric_out, param_value, run_info, run_out, run_tags
from projects.models import LoggedPoint, MetricPoint, Run, Source, decode_number, encode_number

MAX_METRICS = 1000
MAX_PARAMS_TAGS = 100
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000


# --- validation -----------------------------------------------------------------


def _key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"Invalid {what}: a non-empty string is required.")
    if len(value) > MAX_KEY or "\x00" in value or ".." in value.split("/"):
        raise invalid(f"Invalid {what} {value[:100]!r}: at most {MAX_KEY} characters, no NUL.")
    return value


def _value(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        raise invalid(f"Invalid {what}: a string is required.")
    if len(value) > limit or "\x00" in value:
        raise invalid(f"Invalid {what}: at most {limit} characters, no NUL.")
    return value


def _when(ms: int | None) -> datetime | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise invalid(f"Invalid timestamp {ms}.") from None


def parse_metric(item: Any) -> tuple[LoggedPoint, str]:
    """A metric of ``log-batch`` / ``log-metric`` → (point, model_id)."""
    if not isinstance(item, dict):
        raise invalid("Each metric must be an object with key, value, timestamp and step.")
    key = _key(item.get("key"), "metric key")
    if "value" not in item:
        raise invalid(f"Metric {key!r} has no value.")
    value = double(item.get("value"), f"value of metric {key!r}")
    step = integer(item.get("step"), f"step of metric {key!r}", default=0) or 0
    timestamp = integer(item.get("timestamp"), f"timestamp of metric {key!r}")
    model_id = item.get("model_id") or ""
    if not isinstance(model_id, str):
        raise invalid("model_id must be a string.")
    return LoggedPoint(key=key, step=step, value=value, at=_when(timestamp)), model_id


def parse_pairs(items: list[Any], what: str, limit: int) -> list[tuple[str, str]]:
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid(f"Each {what} must be an object with 'key' and 'value'.")
        key = _key(item.get("key"), f"{what} key")
        out.append((key, _value(item.get("value"), f"value of {what} {key!r}", limit)))
    return out


# --- writes (call with the run locked) -----------------------------------------------


def store_params(run: Run, params: list[tuple[str, str]]) -> None:
    config = dict(run.config)
    changed = False
    for key, value in params:
        if key in config and param_value(config[key]) != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{param_value(config[key])[:200]}' for run ID="
                f"'{run.run_id}'. Attempted logging new value '{value[:200]}'."
            )
        if key not in config:
            config[key] = value
            changed = True
    if changed:
        run.update_info(config=config)


def store_tags(run: Run, record: RunRecord, tags: list[tuple[str, str]]) -> None:
    if not tags:
        return
    merged = {**(record.tags or {t: "" for t in run.tags}), **dict(tags)}
    record.tags = merged
    record.save(update_fields=["tags"])
    name = merged.get("mlflow.runName")
    run.update_info(
        tags=beacon_tags(merged),
        display_name=name[:256] if name and name != run.display_name else None,
    )


def store_metrics(
    call: Call, run: Run, metrics: list[tuple[LoggedPoint, str]]
) -> None:
    """Metrics into the run's history; those sent with a ``model_id`` also go to the
    logged model. MLflow re-sends a run's metrics with the model's id after
    ``log_model``: a point the run already holds (same key, step and value) is not
    stored again, so metric automations do not see it twice."""
    fresh = [point for point, model_id in metrics if not model_id]
    by_model: dict[str, list[LoggedPoint]] = {}
    for point, model_id in metrics:
        if model_id:
            by_model.setdefault(model_id, []).append(point)
    for model_id, points in by_model.items():
        model = LoggedModel.objects.select_for_update().filter(
            model_id=model_id, project__team=call.team
        ).first()
        if model is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model '{model_id}' not found.")
        model.metrics = [*model.metrics, *(
            {"key": p.key, "value": encode_number(p.value), "step": p.step,
             "timestamp": millis(p.at or timezone.now()), "run_id": run.run_id}
            for p in points
        )]
        model.save(update_fields=["metrics"])
        held = _held_points(run, points)
        fresh.extend(p for p in points if (p.key, p.step, MetricPoint.to_db(p.value)) not in held)
    if fresh:
        run.log_points(fresh, call.user)


def _held_points(run: Run, points: list[LoggedPoint]) -> set[tuple[str, int, float | None]]:
    """The ``(key, step, value)`` the run already holds among those of ``points``."""
    rows = run.metric_points.filter(
        key__in={p.key for p in points}, step__in={p.step for p in points}
    ).values_list("key", "step", "value")
    return set(rows)


# --- handlers --------------------------------------------------------------------


def create(call: Call) -> dict[str, Any]:
    call.need_write()
    project = project_by_id(
        call.team, call.str("experiment_id") or "0", create_default=True
    )
    tags = parse_pairs(call.list("tags"), "tag", MAX_TAG_VALUE)
    if len(tags) > MAX_PARAMS_TAGS:
        raise invalid(f"A run starts with at most {MAX_PARAMS_TAGS} tags.")
    tag_map = dict(tags)
    run_name = call.str("run_name") or tag_map.get("mlflow.runName", "")
    if len(run_name) > 256:
        raise invalid("Run names are at most 256 characters.")
    user_id = call.str("user_id") or tag_map.get("mlflow.user", "")
    start_time = call.int("start_time") or millis(timezone.now())
    _when(start_time)
    author = author_for(call.team, tag_map.get("mlflow.user", user_id), call.user)
    if run_name:
        tag_map["mlflow.runName"] = run_name
    with transaction.atomic():
        run = Run.start(
            project,
            author=author,
            event_author=call.user,
            run_id=uuid.uuid4().hex,
            display_name=run_name,
            tags=beacon_tags(tag_map),
            source=Source.MLFLOW,
        )
        record = RunRecord.objects.create(
            run=run, user_id=user_id[:256], tags=tag_map, start_time=start_time
        )
    return {"run": run_out(run, record)}


def update(call: Call) -> dict[str, Any]:
    call.need_write()
    status = call.str("status")
    if status and status not in STATUS_TO_STATE:
        raise invalid(f"Invalid run status {status!r}.")
    end_time = call.int("end_time")
    _when(end_time)
    run_name = call.str("run_name")
    if len(run_name) > 256:
        raise invalid("Run names are at most 256 characters.")
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        record = record_of(run, create=True)
        if run_name:
            record.tags = {**record.tags, "mlflow.runName": run_name}
            record.save(update_fields=["tags"])
            run.update_info(display_name=run_name)
        if status:
            if status != "RUNNING":
                record.end_time = end_time or millis(timezone.now())
                record.save(update_fields=["end_time"])
            run.set_state(STATUS_TO_STATE[status], call.user)
    return {"run_info": run_out(run, record)["info"]}


def get(call: Call) -> dict[str, Any]:
    return {"run": run_out(find_run(call.team, call.run_id()))}


def log_metric(call: Call) -> dict[str, Any]:
    call.need_write()
    metric = parse_metric({**call.data, "model_id": call.data.get("model_id") or ""})
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        store_metrics(call, run, [metric])
    return {}


def log_param(call: Call) -> dict[str, Any]:
    call.need_write()
    params = parse_pairs([call.data], "param", MAX_PARAM_VALUE)
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        store_params(run, params)
    return {}


def set_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    tags = parse_pairs([call.data], "tag", MAX_TAG_VALUE)
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        store_tags(run, record_of(run, create=True), tags)
    return {}


def delete_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    key = _key(call.data.get("key"), "tag key")
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        record = record_of(run, create=True)
        tags = record.tags or {t: "" for t in run.tags}
        if key not in tags:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No tag with name: {key} in run.")
        record.tags = {k: v for k, v in tags.items() if k != key}
        record.save(update_fields=["tags"])
        run.update_info(tags=beacon_tags(record.tags))
    return {}


def log_batch(call: Call) -> dict[str, Any]:
    call.need_write()
    raw_metrics, raw_params, raw_tags = call.list("metrics"), call.list("params"), call.list("tags")
    if len(raw_metrics) > MAX_METRICS:
        raise invalid(
            f"A batch logging request can contain at most {MAX_METRICS} metrics. "
            f"Got {len(raw_metrics)} metrics."
        )
    if len(raw_params) > MAX_PARAMS_TAGS:
        raise invalid(
            f"A batch logging request can contain at most {MAX_PARAMS_TAGS} params. "
            f"Got {len(raw_params)} params."
        )
    if len(raw_tags) > MAX_PARAMS_TAGS:
        raise invalid(
            f"A batch logging request can contain at most {MAX_PARAMS_TAGS} tags. "
            f"Got {len(raw_tags)} tags."
        )
    if len(raw_metrics) + len(raw_params) + len(raw_tags) > MAX_METRICS:
        raise invalid(f"A batch logging request can contain at most {MAX_METRICS} entities.")
    metrics = [parse_metric(m) for m in raw_metrics]
    params = parse_pairs(raw_params, "param", MAX_PARAM_VALUE)
    tags = parse_pairs(raw_tags, "tag", MAX_TAG_VALUE)
    keys = [k for k, _ in params]
    if len(set(keys)) != len(keys) and len(set(params)) != len(set(keys)):
        raise invalid("Duplicate parameter keys with different values in one batch.")
    with transaction.atomic():
        run = find_run(call.team, call.run_id(), lock=True)
        store_params(run, params)
        if tags:
            store_tags(run, record_of(run, create=True), tags)
        if metrics:
            store_metrics(call, run, metrics)
    return {}


def log_inputs(call: Call) -> dict[str, Any]:
    """Dataset and model inputs: the run must exist; Beacon keeps no dataset records."""
    call.need_write()
    find_run(call.team, call.run_id())
    return {}


def log_outputs(call: Call) -> dict[str, Any]:
    """Model outputs of a run: links logged models (made with ``source_run_id``) to it."""
    call.need_write()
    run = find_run(call.team, call.run_id())
    for item in call.list("models"):
        if not isinstance(item, dict):
            raise invalid("Each model output must be an object with model_id and step.")
        model_id = text(item.get("model_id"), "model_id", required=True)
        updated = LoggedModel.objects.filter(
            model_id=model_id, project__team=call.team, run__isnull=True
        ).update(run=run)
        if not updated and not LoggedModel.objects.filter(
            model_id=model_id, project__team=call.team
        ).exists():
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Logged model '{model_id}' not found.")
    return {}


def get_history(call: Call) -> dict[str, Any]:
    key = call.str("metric_key", required=True)
    run = find_run(call.team, call.run_id())
    page = Page.from_call(call, default=25000, limit=25000)
    points = list(
        run.metric_points.filter(key=key).order_by("step", "created_at", "id")
        [page.offset:page.offset + page.size + 1]
    )
    out: dict[str, Any] = {"metrics": [metric_out(key, p) for p in points[:page.size]]}
    if len(points) > page.size:
        out["next_page_token"] = page_token(page.offset + page.size)
    return out


def search(call: Call) -> dict[str, Any]:
    ids = call.list("experiment_ids")
    if not all(isinstance(i, str | int) for i in ids):
        raise invalid("experiment_ids must be a list of strings.")
    projects = [project_by_id(call.team, str(i)) for i in ids]
    matches = parse_filter(call.str("filter"))
    order = parse_order_by(call.list("order_by"), entity="run")
    page = Page.from_call(call, default=1000, limit=50000)
    runs = list(
        Run.objects.filter(project__in=projects)
        .select_related("project__team", "author", "mlflow")
    )
    records = {run.pk: record_of(run) for run in runs}
    shaped = [(run, _entity(run, records[run.pk])) for run in runs]
    shaped = [(run, e) for run, e in shaped if matches(e)]
    order = order + [("attributes.start_time", False), ("attributes.run_id", True)]
    entities = sort_entities([e for _, e in shaped], order)
    by_id = {id(e): run for run, e in shaped}
    chosen, token = page.cut(entities)
    out: dict[str, Any] = {
        "runs": [run_out(by_id[id(e)], records[by_id[id(e)].pk]) for e in chosen]
    }
    if token:
        out["next_page_token"] = token
    return out


def _entity(run: Run, record: RunRecord) -> dict[str, dict[str, Any]]:
    """What a search filter and order see of ``run``: its info, summary metrics, params
    and tags, without the per-run query ``run_out`` makes for the latest metrics."""
    info = run_info(run, record)
    return {
        "metrics": {k: decode_number(v) for k, v in run.summary.items()},
        "params": {k: param_value(v) for k, v in run.config.items()},
        "tags": run_tags(run, record),
        "attributes": {
            "status": info["status"],
            "run_name": info["run_name"],
            "run_id": info["run_id"],
            "user_id": info["user_id"],
            "start_time": float(info["start_time"]),
            "end_time": float(info["end_time"]) if "end_time" in info else None,
            "artifact_uri": info["artifact_uri"],
            "lifecycle_stage": "active",
        },
    }
