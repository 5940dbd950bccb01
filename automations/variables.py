"""Template variables: which exist for an event type, and their values for one event.

Pure Python, no ORM: the pipeline passes the event as a plain dict. Every value
is a string (numbers with repr precision, NaN as ``NaN``, ±inf as
``Infinity``/``-Infinity``, lists and objects as JSON text).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from automations.conditions import json_safe
from automations.events import PROJECT, get_spec
from automations.templating import METADATA_PREFIX

COMMON = ("event_type", "event_author", "event_id", "event_time", "entity_name")
RUN = ("run_id", "run_name", "run_status", "run_url")
METRIC = ("metric_name", "metric_value", "metric_values", "metric_step", "metric_filter")
ARTIFACT = (
    "artifact_collection_name",
    "artifact_version",
    "artifact_version_string",
    "artifact_version_index",
    METADATA_PREFIX,  # ${artifact_metadata.KEY}
)
ACCESS_TOKEN = "ACCESS_TOKEN"


def allowed_variables(
    scope: str,
    type: str,
    *,
    payload_secret_name: str | None = None,
    has_access_token: bool = False,
) -> list[str]:
    """Variable names a template of this event type may use (``KeyError`` for unknown types).

    ``"artifact_metadata."`` stands for every ``${artifact_metadata.KEY}``; the
    webhook's secrets are offered only when attached."""
    spec = get_spec(scope, type)
    names = [*COMMON, "project_name" if scope == PROJECT else "registry_name"]
    if scope != PROJECT and spec.is_artifact_event:
        names.append("project_name")  # the project the linked version came from
    names += ["automation_name", "url"]
    if spec.is_run_event:
        names += RUN
    if spec.is_metric_event:
        names += METRIC
    if spec.is_artifact_event:
        names += ARTIFACT
    if spec.is_collection_event:
        names.append("artifact_collection_name")
    if spec.is_alias_event:
        names.append("alias")
    if spec.is_tag_event:
        names.append("tag")
    if has_access_token:
        names.append(ACCESS_TOKEN)
    if payload_secret_name and payload_secret_name not in names:
        names.append(payload_secret_name)
    return names


def as_text(value: Any) -> str:
    """One variable value as text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(json_safe(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(json_safe(value), ensure_ascii=False)


def _run_variables(type: str, data: dict[str, Any]) -> dict[str, str]:
    run = data.get("run") or {}
    status = data.get("state") if type == "RUN_STATE" else run.get("state")
    return {
        "run_id": as_text(run.get("id")),
        "run_name": as_text(run.get("name") or run.get("display_name") or run.get("id")),
        "run_status": as_text(status),
        "run_url": as_text(run.get("url")),
    }


def _artifact_variables(scope: str, data: dict[str, Any]) -> dict[str, str]:
    artifact = data.get("artifact") or {}
    if scope == PROJECT:
        subject, collection = artifact, artifact.get("name")
    else:
        subject = data.get("linked") or {}
        collection = data.get("collection") or subject.get("collection")
    values = {
        "artifact_collection_name": as_text(collection),
        "artifact_version": as_text(subject.get("stable_ref")),
        "artifact_version_string": as_text(subject.get("ref")),
        "artifact_version_index": as_text(subject.get("index")),
    }
    metadata = subject.get("metadata")
    if metadata is None:
        metadata = artifact.get("metadata")
    for key, value in (metadata or {}).items():
        values[METADATA_PREFIX + str(key)] = as_text(value)
    return values


def source_project(data: dict[str, Any]) -> str:
    """The project a registry event's linked version came from (``version_data``'s
    ``project``; read from its ref ``team/project/name:v3`` for older events)."""
    artifact = data.get("artifact") or {}
    if artifact.get("project"):
        return str(artifact["project"])
    parts = str(artifact.get("ref") or "").split("/")
    return parts[1] if len(parts) == 3 else ""


def _subject_url(data: dict[str, Any]) -> str:
    for key in ("linked", "artifact", "collection_info", "run"):
        part = data.get(key)
        if isinstance(part, dict) and part.get("url"):
            return str(part["url"])
    return ""


def event_variables(
    *,
    type: str,
    scope: str,
    event: dict[str, Any],
    automation_name: str,
    verdict_values: dict[str, Any],
) -> dict[str, str]:
    """Every variable of ``type`` for one event, as strings.

    ``event``: ``{"id", "created_at" (ISO text or datetime), "author", "team",
    "scope_name", "url", "data"}``; ``verdict_values``: the metric verdict's
    values (empty for other events). Secrets are not included: the caller adds
    them at send time."""
    spec = get_spec(scope, type)
    data = event.get("data") or {}
    values = {
        "event_type": str(spec.type),
        "event_author": as_text(event.get("author")),
        "event_id": as_text(event.get("id")),
        "event_time": as_text(event.get("created_at")),
        "entity_name": as_text(event.get("team")),
        "project_name" if scope == PROJECT else "registry_name": as_text(event.get("scope_name")),
        "automation_name": automation_name,
        # The subject's absolute link from the event data; event["url"] as a fallback.
        "url": _subject_url(data) or as_text(event.get("url")),
    }
    if spec.is_run_event:
        values.update(_run_variables(str(spec.type), data))
    if spec.is_metric_event:
        for name in METRIC:
            values[name] = as_text(verdict_values.get(name))
    if spec.is_artifact_event:
        values.update(_artifact_variables(scope, data))
        if scope != PROJECT:
            values["project_name"] = source_project(data)
    if spec.is_collection_event:
        values["artifact_collection_name"] = as_text(data.get("collection"))
    if spec.is_alias_event:
        values["alias"] = as_text(data.get("alias"))
    if spec.is_tag_event:
        values["tag"] = as_text(data.get("tag"))
    return values
