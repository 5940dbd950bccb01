"""A saved write answers success even when queueing fails; a database that does not
answer is a JSON 503; every other error keeps the API's error shape (issue 7)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import RequestFactory
from django.utils import timezone

from automations import dispatch, tasks
from automations.models import Automation, Event, Execution
from config.middleware import ApiErrorShapeMiddleware
from projects.models import Run
from tests.support.api import assert_error

RUNS = "/teams/acme/projects/mnist/runs"


class BrokerDown(ConnectionError):
    """What redis-py raises when nothing listens."""


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``async_task`` (the single seam to the broker) raises; records what was tried."""
    tried: list[str] = []

    def refuse(func: str, *args: Any, **kwargs: Any) -> None:
        tried.append(kwargs.get("task_name", func))
        raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("django_q.tasks.async_task", refuse)
    # An external broker (Redis) is what can be down while the database is up: the
    # ORM broker writes its tasks in the database, with the events.
    monkeypatch.setattr("automations.emit.broker_in_database", lambda: False)
    return tried


@pytest.mark.django_db(transaction=True)  # on_commit callbacks run inside the request
def test_a_saved_run_answers_201_when_queueing_fails(
    member_api: Any, project: Any, broker_down: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    response = member_api.post(RUNS, json={"id": "r1"})

    assert response.status_code == 201, response.content
    event = Event.objects.get(type="RUN_STATE")
    assert broker_down == [f"event-{event.pk}"]  # it was tried, after the commit
    assert event.processed_at is None  # still waiting: the sweep will queue it
    assert "the sweep will queue it later" in caplog.text
    # The client's retry of the same start is recognised, not a 409.
    again = member_api.post(RUNS, json={"id": "r1"})
    assert again.status_code == 200
    assert Run.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_saved_history_answers_202_when_queueing_fails_and_its_retry_too(
    member_api: Any, project: Any, broker_down: list[str]
) -> None:
    Run.start(project, author=None, run_id="r1")
    rows = [{"step": s, "metrics": {"loss": 1.0 / (s + 1)}} for s in range(10)]

    first = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})
    retry = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert (first.status_code, retry.status_code) == (202, 202)
    assert Run.objects.get(run_id="r1").metric_points.count() == 10
    assert Event.objects.filter(type="RUN_METRIC", processed_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_an_event_whose_queueing_failed(
    member_api: Any, project: Any, broker_down: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert member_api.post(RUNS, json={"id": "r1"}).status_code == 201
    event = Event.objects.get(type="RUN_STATE")
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=3))
    queued: list[int] = []
    monkeypatch.setattr("automations.tasks.enqueue_event", queued.append)

    assert tasks.sweep()["events"] == 1
    assert queued == [event.pk]


@pytest.mark.django_db(transaction=True)
def test_an_execution_stays_pending_when_its_delivery_cannot_be_queued(
    automation: Automation, project: Any, broker_down: list[str]
) -> None:
    run = Run.start(project, author=None, run_id="r1")
    run.set_state("failed", None)
    event = Event.objects.filter(type="RUN_STATE").order_by("id").last()

    created = dispatch.process(event)  # commits, then tries to queue the delivery

    assert [e.status for e in created] == ["pending"]
    assert f"deliver-{created[0].pk}" in broker_down
    execution = Execution.objects.get(pk=created[0].pk)
    assert execution.status == Execution.Status.PENDING and execution.claimed_until is None


def fail_every_query(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    def refuse(self: CursorWrapper, *args: Any, **kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(CursorWrapper, "execute", refuse)
    monkeypatch.setattr(CursorWrapper, "executemany", refuse)


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError('connection to server at "127.0.0.1", port 5432 failed'),
        InterfaceError("connection already closed"),
        OperationalError("database is locked"),
    ],
)
def test_a_database_that_does_not_answer_is_a_json_503(
    member_api: Any, project: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    with monkeypatch.context() as patch:
        fail_every_query(patch, exc)
        responses = [
            member_api.get("/viewer"),
            member_api.get(f"{RUNS}/r1"),
            member_api.post(RUNS, json={"id": "r2"}),
        ]

    for response in responses:
        error = assert_error(response, 503, "unavailable")
        assert response["Retry-After"] == "5"
        assert "Traceback" not in error["message"]


def test_an_unexpected_error_is_a_json_500_without_a_traceback(
    member_api: Any, project: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DEBUG = True  # ninja would answer a text/plain traceback here

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug in a view")

    monkeypatch.setattr("projects.api.run_out", broken)
    Run.start(project, author=None, run_id="r1")

    error = assert_error(member_api.get(f"{RUNS}/r1"), 500, "internal")
    assert "bug in a view" not in error["message"]


def test_the_middleware_shapes_exceptions_outside_ninja() -> None:
    middleware = ApiErrorShapeMiddleware(lambda request: None)  # type: ignore[arg-type,return-value]
    request = RequestFactory().get("/api/v1/elsewhere")

    down = middleware.process_exception(request, OperationalError("no connection"))
    bug = middleware.process_exception(request, ValueError("boom"))
    page = middleware.process_exception(RequestFactory().get("/t/acme/"), ValueError("boom"))

    assert (down.status_code, down["Retry-After"]) == (503, "5")
    assert json.loads(down.content)["error"]["code"] == "unavailable"
    assert bug.status_code == 500 and bug["Content-Type"] == "application/json"
    assert json.loads(bug.content) == {"error": {
        "code": "internal", "message": "Something went wrong on the server; it has been logged.",
        "fields": {},
    }}
    assert page is None  # pages keep Django's own error handling


def test_an_upload_cut_between_chunks_is_completed_by_its_retry(
    member_api: Any, project: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.BEACON_HISTORY_CHUNK_POINTS = 10
    Run.start(project, author=None, run_id="r1")
    rows = [{"step": s, "metrics": {"a": s, "b": -s}} for s in range(30)]  # 6 chunks
    real = Run.log_history
    calls = []

    def fail_third(self: Run, chunk: Any, user: Any) -> int:
        calls.append(chunk[0][0])
        if len(calls) == 3:
            raise OperationalError("database is locked")
        return real(self, chunk, user)

    with monkeypatch.context() as patch:
        patch.setattr(Run, "log_history", fail_third)
        cut = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})
    assert_error(cut, 503, "unavailable")
    assert Run.objects.get(run_id="r1").metric_points.count() == 20  # two chunks saved

    retry = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert retry.status_code == 202
    assert Run.objects.get(run_id="r1").metric_points.count() == 60
    run = Run.objects.get(run_id="r1")
    assert sorted(s for s, _ in run.history("a")) == list(range(30))  # each step once
    assert run.last_step == 29
    # Every point is covered by exactly one metric event, in order.
    spans = [(e.data["first_step"], e.data["last_step"])
             for e in Event.objects.filter(type="RUN_METRIC").order_by("id")]
    assert spans == [(0, 4), (5, 9), (10, 14), (15, 19), (20, 24), (25, 29)]
