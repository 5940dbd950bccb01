"""Template variables: which exist per event type, and their values for one event."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from automations.conditions import evaluate_metric
from automations.events import CATALOG, sample_data, validate_filter
from automations.templating import render, validate
from automations.variables import allowed_variables, as_text, event_variables

COMMON = {
    "event_type",
    "event_author",
    "event_id",
    "event_time",
    "entity_name",
    "automation_name",
    "url",
}
RUN = {"run_id", "run_name", "run_status", "run_url"}
METRIC = {"metric_name", "metric_value", "metric_values", "metric_step", "metric_filter"}
ARTIFACT = {
    "artifact_collection_name",
    "artifact_version",
    "artifact_version_string",
    "artifact_version_index",
    "artifact_metadata.",
}


@pytest.mark.parametrize(
    ("scope", "type", "expected"),
    [
        ("project", "RUN_STATE", COMMON | {"project_name"} | RUN),
        ("project", "RUN_METRIC_THRESHOLD", COMMON | {"project_name"} | RUN | METRIC),
        ("project", "RUN_METRIC_CHANGE", COMMON | {"project_name"} | RUN | METRIC),
        ("project", "RUN_METRIC_ZSCORE", COMMON | {"project_name"} | RUN | METRIC),
        ("project", "CREATE_ARTIFACT", COMMON | {"project_name"} | ARTIFACT),
        ("project", "ADD_ARTIFACT_ALIAS", COMMON | {"project_name"} | ARTIFACT | {"alias"}),
        ("registry", "LINK_ARTIFACT", COMMON | {"registry_name", "project_name"} | ARTIFACT),
        (
            "registry",
            "ADD_ARTIFACT_ALIAS",
            COMMON | {"registry_name", "project_name"} | ARTIFACT | {"alias"},
        ),
        ("registry", "UNLINK_ARTIFACT", COMMON | {"registry_name", "project_name"} | ARTIFACT),
        ("project", "ADD_ARTIFACT_TAG", COMMON | {"project_name"} | ARTIFACT | {"tag"}),
        (
            "registry",
            "REMOVE_ARTIFACT_TAG",
            COMMON | {"registry_name", "project_name"} | ARTIFACT | {"tag"},
        ),
        (
            "registry",
            "ADD_COLLECTION_TAG",
            COMMON | {"registry_name", "artifact_collection_name", "tag"},
        ),
    ],
)
def test_allowed_variables_per_event_type(scope: str, type: str, expected: set[str]) -> None:
    names = allowed_variables(scope, type)
    assert set(names) == expected
    assert len(names) == len(set(names))


def test_webhook_secrets_are_allowed_only_when_attached() -> None:
    plain = allowed_variables("project", "RUN_STATE")
    assert "ACCESS_TOKEN" not in plain
    with_secrets = allowed_variables(
        "project", "RUN_STATE", payload_secret_name="DEPLOY_KEY", has_access_token=True
    )
    assert with_secrets[-2:] == ["ACCESS_TOKEN", "DEPLOY_KEY"]


def test_allowed_variables_for_unknown_type() -> None:
    with pytest.raises(KeyError):
        allowed_variables("registry", "RUN_STATE")


def test_validation_rejects_metric_variables_on_artifact_events() -> None:
    errors = validate({"text": "${metric_value}"}, allowed_variables("project", "CREATE_ARTIFACT"))
    assert len(errors) == 1
    assert errors[0].startswith("Unknown variable ${metric_value}. Available: ${event_type}")


def event(data: dict[str, Any], scope_name: str = "mnist") -> dict[str, Any]:
    return {
        "id": 17,
        "created_at": "2025-01-02T03:04:05+00:00",
        "author": "ada",
        "team": "acme",
        "scope_name": scope_name,
        "url": "http://beacon/fallback",
        "data": data,
    }


def run_data(**kw: Any) -> dict[str, Any]:
    return {
        "id": "r1",
        "name": "sweep-7",
        "display_name": "sweep-7",
        "state": "running",
        "author": "ada",
        "tags": [],
        "url": "http://beacon/t/acme/p/mnist/runs/r1/",
        **kw,
    }


def test_run_state_variables() -> None:
    data = {"run": run_data(state="crashed"), "state": "crashed", "previous_state": "running"}
    values = event_variables(
        type="RUN_STATE",
        scope="project",
        event=event(data),
        automation_name="on-failure",
        verdict_values={},
    )
    assert values == {
        "event_type": "RUN_STATE",
        "event_author": "ada",
        "event_id": "17",
        "event_time": "2025-01-02T03:04:05+00:00",
        "entity_name": "acme",
        "project_name": "mnist",
        "automation_name": "on-failure",
        "url": "http://beacon/t/acme/p/mnist/runs/r1/",
        "run_id": "r1",
        "run_name": "sweep-7",
        "run_status": "crashed",
        "run_url": "http://beacon/t/acme/p/mnist/runs/r1/",
    }


def test_run_name_falls_back_to_id() -> None:
    data = {"run": run_data(name="", display_name=""), "state": "failed"}
    values = event_variables(
        type="RUN_STATE", scope="project", event=event(data), automation_name="a", verdict_values={}
    )
    assert values["run_name"] == "r1"


def test_event_time_from_datetime_and_url_fallback() -> None:
    ev = event({"state": "failed"})
    ev["created_at"] = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    values = event_variables(
        type="RUN_STATE", scope="project", event=ev, automation_name="a", verdict_values={}
    )
    assert values["event_time"] == "2025-01-02T03:04:05+00:00"
    assert values["url"] == "http://beacon/fallback"
    assert values["run_id"] == ""


def test_metric_variables_from_the_verdict() -> None:
    f = validate_filter("project", "RUN_METRIC_THRESHOLD", {"metric": "loss", "threshold": 2})
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [2.0, 2.5, 2.3, 2.4, 2.35], 42)
    data = {"run": run_data(), "metrics": ["loss"], "first_step": 42, "last_step": 42, "rows": 1}
    values = event_variables(
        type="RUN_METRIC_THRESHOLD",
        scope="project",
        event=event(data),
        automation_name="loss-high",
        verdict_values=verdict.values,
    )
    assert values["metric_name"] == "loss"
    assert float(values["metric_value"]) == pytest.approx(2.31)
    assert json.loads(values["metric_values"]) == [2.0, 2.5, 2.3, 2.4, 2.35]
    assert values["metric_step"] == "42"
    assert values["metric_filter"] == "avg(loss, 5) > 2.0"
    assert values["run_status"] == "running"


def test_non_finite_metric_values_as_text() -> None:
    verdict_values = {
        "metric_name": "loss",
        "metric_value": math.nan,
        "metric_values": [1.5, math.nan, math.inf, -math.inf],
        "metric_step": 3,
        "metric_filter": "loss is NaN or ±inf (max over 4)",
    }
    values = event_variables(
        type="RUN_METRIC_THRESHOLD",
        scope="project",
        event=event({"run": run_data()}),
        automation_name="a",
        verdict_values=verdict_values,
    )
    assert values["metric_value"] == "NaN"
    assert values["metric_values"] == '[1.5, "NaN", "Infinity", "-Infinity"]'


def test_numbers_keep_their_precision() -> None:
    assert as_text(0.1 + 0.2) == "0.30000000000000004"
    assert as_text(1e-12) == "1e-12"
    assert as_text(3) == "3"
    assert as_text(True) == "true"
    assert as_text(None) == ""
    assert as_text({"a": [1, "é"]}) == '{"a": [1, "é"]}'


def version(**kw: Any) -> dict[str, Any]:
    return {
        "id": 9,
        "name": "mnist-cnn",
        "type": "model",
        "version": "v3",
        "index": 3,
        "ref": "acme/mnist/mnist-cnn:v3",
        "stable_ref": "beacon-artifact://9",
        "digest": "d" * 64,
        "metadata": {"accuracy": 0.93, "framework": "torch", "layers": [1, 2], "none": None},
        "aliases": ["latest"],
        "url": "http://beacon/t/acme/p/mnist/artifacts/mnist-cnn/#v3",
        **kw,
    }


def test_project_alias_variables() -> None:
    values = event_variables(
        type="ADD_ARTIFACT_ALIAS",
        scope="project",
        event=event({"artifact": version(), "alias": "production"}),
        automation_name="deploy",
        verdict_values={},
    )
    assert values["artifact_collection_name"] == "mnist-cnn"
    assert values["artifact_version"] == "beacon-artifact://9"
    assert values["artifact_version_string"] == "acme/mnist/mnist-cnn:v3"
    assert values["artifact_version_index"] == "3"
    assert values["artifact_metadata.accuracy"] == "0.93"
    assert values["artifact_metadata.framework"] == "torch"
    assert values["artifact_metadata.layers"] == "[1, 2]"
    assert values["artifact_metadata.none"] == ""
    assert values["alias"] == "production"
    assert values["url"] == "http://beacon/t/acme/p/mnist/artifacts/mnist-cnn/#v3"
    assert "run_name" not in values and "metric_value" not in values


def test_registry_link_variables_describe_the_linked_version() -> None:
    linked = {
        "id": 4,
        "collection": "digits",
        "version": "v1",
        "index": 1,
        "ref": "acme/model/digits:v1",
        "stable_ref": "beacon-artifact://9",
        "aliases": [],
        "metadata": {"accuracy": 0.93},
        "url": "http://beacon/t/acme/r/model/#digits",
    }
    data = {"collection": "digits", "linked": linked, "artifact": version()}
    values = event_variables(
        type="LINK_ARTIFACT",
        scope="registry",
        event=event(data, scope_name="model"),
        automation_name="link",
        verdict_values={},
    )
    assert values["registry_name"] == "model"
    assert values["project_name"] == "mnist"  # the linked version's source project
    assert values["artifact_collection_name"] == "digits"
    assert values["artifact_version"] == "beacon-artifact://9"
    assert values["artifact_version_string"] == "acme/model/digits:v1"
    assert values["artifact_version_index"] == "1"
    assert values["artifact_metadata.accuracy"] == "0.93"
    assert values["url"] == "http://beacon/t/acme/r/model/#digits"
    assert "alias" not in values


def test_every_allowed_variable_has_a_value_for_a_sample_event() -> None:
    for (scope, type), spec in CATALOG.items():
        data = sample_data(scope, type, team="acme", scope_name="s", base_url="http://b")
        verdict_values: dict[str, Any] = {}
        if spec.is_metric_event:
            extra = {"RUN_METRIC_THRESHOLD": {"threshold": 1}, "RUN_METRIC_CHANGE": {"amount": 1}}
            f = validate_filter(scope, type, {"metric": "loss", **extra.get(type, {})})
            verdict_values = evaluate_metric(type, f, [1.0, 2.0, 3.0, 9.0], 100).values
        values = event_variables(
            type=type,
            scope=scope,
            event=event(data, scope_name="s"),
            automation_name="a",
            verdict_values=verdict_values,
        )
        for name in allowed_variables(scope, type):
            if name == "artifact_metadata.":
                assert any(key.startswith(name) for key in values)
            else:
                assert values[name] != "", (type, name)
        rendered = render({"t": "${event_type} by ${event_author}"}, values)
        assert rendered == {"t": f"{type} by ada"}
