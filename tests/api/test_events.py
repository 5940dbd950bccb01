"""Domain changes made through the API record the right Event rows, and queue
their processing only when the request's transaction commits."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from automations.models import Event
from projects.models import Artifact


@pytest.fixture
def async_task() -> Any:
    with mock.patch("django_q.tasks.async_task", autospec=True) as patched:
        yield patched


def test_starting_a_run_records_run_state_and_queues_on_commit(
    member_api: Any, project: Any, async_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # (on the ORM broker the task is written in the transaction: tests/automations/test_batching.py)
    with mock.patch("automations.emit.broker_in_database", return_value=False), \
            django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
        assert response.status_code == 201
        async_task.assert_not_called()  # not before commit

    event = Event.objects.get()
    assert (event.type, event.scope_type, event.project, event.author_name) == (
        "RUN_STATE", "project", project, "mia"
    )
    assert event.data["run"]["id"] == "r1"
    assert (event.data["state"], event.data["previous_state"]) == ("running", None)
    assert len(callbacks) == 1
    callbacks[0]()
    async_task.assert_called_once()
    assert async_task.call_args.args[:2] == ("automations.tasks.process_event", event.pk)


def queued_events(async_task: Any) -> list[int]:
    """The events queued, in order, whether one task each or several per task."""
    return [pk for call in async_task.call_args_list
            for pk in (call.args[1] if isinstance(call.args[1], list) else [call.args[1]])]


def test_history_records_one_run_metric_event(
    member_api: Any, project: Any, async_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # its own transaction commits
        member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
    rows = [{"step": 3, "metrics": {"loss": 1}}, {"step": 4, "metrics": {"acc": "NaN"}}]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member_api.post("/teams/acme/projects/mnist/runs/r1/history", json={"rows": rows})

    event = Event.objects.filter(type="RUN_METRIC").get()
    assert event.data["metrics"] == ["acc", "loss"]
    assert (event.data["first_step"], event.data["last_step"], event.data["rows"]) == (3, 4, 2)
    assert len(callbacks) == 1
    assert async_task.call_args.args[1] == event.pk


def test_a_rejected_request_records_and_queues_nothing(
    member_api: Any, project: Any, async_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
    before = Event.objects.count()
    rows = [{"step": 0, "metrics": {"loss": 1}}, {"step": 1, "metrics": {"loss": "oops"}}]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member_api.post("/teams/acme/projects/mnist/runs/r1/history",
                                   json={"rows": rows})

    assert response.status_code == 400
    assert Event.objects.count() == before
    assert callbacks == []


def test_logging_an_artifact_records_create_then_alias_events(
    member_api: Any, project: Any, async_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = {"name": "m", "type": "model", "digest": "d1", "metadata": {"acc": 0.9},
            "aliases": ["latest"]}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member_api.post("/teams/acme/projects/mnist/artifacts", json=body)

    created, aliased = Event.objects.order_by("id")
    assert created.type == "CREATE_ARTIFACT"
    assert created.data["artifact"]["ref"] == "acme/mnist/m:v0"
    assert created.data["artifact"]["metadata"] == {"acc": 0.9}
    assert aliased.type == "ADD_ARTIFACT_ALIAS"
    assert aliased.data["alias"] == "latest"
    assert len(callbacks) == 1  # the request's events are queued together
    assert queued_events(async_task) == [created.pk, aliased.pk]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = member_api.post("/teams/acme/projects/mnist/artifacts", json=body)
    assert again.status_code == 200
    assert callbacks == []
    assert Event.objects.count() == 2


def test_linking_records_link_artifact_in_the_registry_scope(
    member_api: Any, project: Any, registry: Any, member: Any,
    async_task: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        Artifact.log_version(project, name="m", type="model", digest="d", author=member)
    async_task.reset_mock()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        member_api.post("/teams/acme/registries/model/collections/clf/links",
                        json={"artifact": "mnist/m:v0", "aliases": ["staging"]})

    link, alias = Event.objects.filter(registry=registry).order_by("id")
    assert (link.type, link.scope_type) == ("LINK_ARTIFACT", "registry")
    assert link.data["collection"] == "clf"
    assert link.data["linked"]["ref"] == "acme/model/clf:v0"
    assert link.data["artifact"]["ref"] == "acme/mnist/m:v0"
    assert (alias.type, alias.data["alias"]) == ("ADD_ARTIFACT_ALIAS", "staging")
    assert len(callbacks) == 1
    assert queued_events(async_task) == [link.pk, alias.pk]


def test_setting_the_same_state_again_records_nothing(
    member_api: Any, project: Any, async_task: Any, django_capture_on_commit_callbacks: Any
) -> None:
    member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
    member_api.patch("/teams/acme/projects/mnist/runs/r1", json={"state": "crashed"})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = member_api.patch("/teams/acme/projects/mnist/runs/r1", json={"state": "crashed"})

    assert response.status_code == 200
    assert callbacks == []
    assert Event.objects.filter(type="RUN_STATE").count() == 2
