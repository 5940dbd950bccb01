"""MLflow's JSON shapes (protobuf JSON with the proto field names) of Beacon objects."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Max

from mlflow_api.mapping import (
    STATE_TO_STATUS,
    artifact_location,
    experiment_id,
    experiment_name,
    millis,
    record_of,
    run_artifact_uri,
)
from mlflow_api.models import RunRecord
from projects.models import MetricPoint, Project, Run, decode_number, encode_number


def key_values(items: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


def param_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def experiment_out(project: Project) -> dict[str, Any]:
    record = getattr(project, "mlflow_experiment", None)
    return {
        "experiment_id": experiment_id(project),
        "name": experiment_name(project),
        "artifact_location": artifact_location(project),
        "lifecycle_stage": "active",
        "creation_time": millis(project.created_at),
        "last_update_time": millis(project.created_at),
        "tags": key_values(record.tags if record is not None else {}),
    }


def run_tags(run: Run, record: RunRecord) -> dict[str, str]:
    tags = {t: "" for t in run.tags} if not record.tags else dict(record.tags)
    tags["mlflow.runName"] = run.name
    if run.author_id and "mlflow.user" not in tags:
        tags["mlflow.user"] = run.author.username
    return tags


def latest_metrics(run: Run) -> list[dict[str, Any]]:
    """Each metric's newest value (its highest step), as MLflow's run data lists it."""
    if not run.summary:
        return []
    tops = {
        row["key"]: row
        for row in run.metric_points.order_by()
        .values("key")
        .annotate(step=Max("step"), at=Max("created_at"))
    }
    out = []
    for key, value in run.summary.items():
        top = tops.get(key)
        out.append({
            "key": key,
            "value": encode_number(decode_number(value)),
            "timestamp": millis(top["at"]) if top else millis(run.updated_at),
            "step": top["step"] if top else 0,
        })
    return out


def run_info(run: Run, record: RunRecord) -> dict[str, Any]:
    """MLflow's ``RunInfo`` of ``run`` (no query beyond what ``run`` carries)."""
    info: dict[str, Any] = {
        "run_id": run.run_id,
        "run_uuid": run.run_id,
        "run_name": run.name,
        "experiment_id": experiment_id(run.project),
        "user_id": record.user_id or (run.author.username if run.author_id else ""),
        "status": STATE_TO_STATUS[run.state],
        "start_time": record.start_time,
        "artifact_uri": run_artifact_uri(run),
        "lifecycle_stage": "active",
    }
    if record.end_time is not None:
        info["end_time"] = record.end_time
    return info


def run_out(run: Run, record: RunRecord | None = None) -> dict[str, Any]:
    record = record or record_of(run)
    return {
        "info": run_info(run, record),
        "data": {
            "metrics": latest_metrics(run),
            "params": [{"key": k, "value": param_value(v)} for k, v in run.config.items()],
            "tags": key_values(run_tags(run, record)),
        },
        "inputs": {},
        "outputs": {},
    }


def metric_out(key: str, point: MetricPoint) -> dict[str, Any]:
    return {
        "key": key,
        "value": encode_number(point.as_float),
        "timestamp": millis(point.created_at),
        "step": point.step,
    }
