"""Experiments: ``/api/2.0/mlflow/experiments/*`` (an experiment is a project)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from mlflow_api.calls import Call
from mlflow_api.errors import invalid, not_found
from mlflow_api.mapping import create_project, project_by_id, project_by_name
from mlflow_api.models import Experiment
from mlflow_api.search import Page, parse_experiment_filter, parse_order_by
from mlflow_api.shapes import experiment_out
from projects.models import Project


def _tags(call: Call) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in call.list("tags"):
        if not isinstance(item, dict):
            raise invalid("Each tag must be an object with 'key' and 'value'.")
        key = _key(item.get("key"), "tag key")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise invalid(f"Tag {key!r} must have a string value.")
        out[key] = value
    return out


def _key(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 250 or "\x00" in value:
        raise invalid(f"Invalid {what} {str(value)[:100]!r}: use 1–250 characters.")
    return value


def get_by_name(call: Call) -> dict[str, Any]:
    name = call.str("experiment_name", required=True)
    project = project_by_name(call.team, name)
    if project is None:
        raise not_found(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_out(project)}


def create(call: Call) -> dict[str, Any]:
    call.need_write()
    name = call.str("name", required=True)
    if len(name) > 500:
        raise invalid("Experiment names are at most 500 characters.")
    project = create_project(call.team, name, _tags(call))
    return {"experiment_id": str(project.pk)}


def get(call: Call) -> dict[str, Any]:
    project = project_by_id(call.team, call.str("experiment_id", required=True))
    return {"experiment": experiment_out(project)}


def set_tag(call: Call) -> dict[str, Any]:
    call.need_write()
    project = project_by_id(call.team, call.str("experiment_id", required=True))
    key = _key(call.data.get("key"), "tag key")
    value = call.str("value")
    with transaction.atomic():
        record, _ = Experiment.objects.select_for_update().get_or_create(
            project=project, defaults={"team": call.team, "name": project.name}
        )
        record.tags = {**record.tags, key: value}
        record.save(update_fields=["tags"])
    return {}


def search(call: Call) -> dict[str, Any]:
    matches = parse_experiment_filter(call.str("filter"))
    order = parse_order_by(call.list("order_by"), entity="experiment")
    page = Page.from_call(call, default=1000, limit=50000)
    projects = list(
        Project.objects.filter(team=call.team).select_related("mlflow_experiment")
    )
    shaped = [experiment_out(p) for p in projects]
    shaped = [e for e in shaped if matches(e)]
    for key, ascending in reversed(order or [("creation_time", False), ("experiment_id", False)]):
        shaped.sort(key=lambda e, k=key: _experiment_key(e, k), reverse=not ascending)
    items, token = page.cut(shaped)
    out: dict[str, Any] = {"experiments": items}
    if token:
        out["next_page_token"] = token
    return out


def _experiment_key(experiment: dict[str, Any], key: str) -> Any:
    if key == "experiment_id":
        return int(experiment["experiment_id"])
    return experiment.get(key) or ""
