"""Batches: the events of a transaction queued together, processed together, and a
destination's due deliveries claimed together and sent one at a time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import dispatch, recording, tasks
from automations.models import Attempt, Event, Execution
from projects.models import Project, Run
from teams.models import Integration
from tests.support.factories import fail_run, make_automation, make_webhook
from tests.support.receiver import Receiver


@pytest.fixture
def async_task() -> Iterator[Any]:
    with mock.patch("django_q.tasks.async_task", autospec=True) as patched:
        yield patched


def fail_runs(project: Project, user: Any, count: int, prefix: str = "r") -> None:
    for n in range(count):
        Run.start(project, author=user, run_id=f"{prefix}{n}").set_state("failed", user)


def queued_batches(async_task: Any) -> list[list[int]]:
    return [
        call.args[1] if isinstance(call.args[1], list) else [call.args[1]]
        for call in async_task.call_args_list
    ]


# --- queueing -----------------------------------------------------------------------


def test_a_transactions_events_are_queued_after_commit_one_task_per_batch(
    project: Project, member: Any, async_task: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BEACON_EVENT_BATCH = 10
    with mock.patch("automations.emit.broker_in_database", return_value=False):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with transaction.atomic():
                fail_runs(project, member, 12)  # 24 events: started and failed
            async_task.assert_not_called()

    events = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    assert len(callbacks) == 1
    assert [call.args[0] for call in async_task.call_args_list] == [
        "automations.tasks.process_events"] * 3
    assert queued_batches(async_task) == [events[:10], events[10:20], events[20:]]


def test_on_the_orm_broker_the_first_event_is_queued_in_its_own_transaction(
    project: Project, member: Any, async_task: Any, settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.BEACON_EVENT_BATCH = 10
    with mock.patch("automations.emit.broker_in_database", return_value=True):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                fail_runs(project, member, 6)
                # written with the event: it commits or rolls back with it
                assert queued_batches(async_task) == [[Event.objects.order_by("pk")[0].pk]]

    events = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    assert queued_batches(async_task) == [events[:1], events[1:11], events[11:]]


def test_tasks_are_queued_through_one_broker_per_queue(
    project: Project, member: Any, async_task: Any, monkeypatch: pytest.MonkeyPatch,
    settings: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    """Not a new broker per task (for Redis: a new client and TCP connection each)."""
    from django_q.conf import Conf

    from automations.emit import queue_broker

    settings.BEACON_EVENT_BATCH = 1
    first = queue_broker()
    with django_capture_on_commit_callbacks(execute=True):
        fail_runs(project, member, 3)

    brokers = [call.kwargs["broker"] for call in async_task.call_args_list]
    assert len(brokers) >= 3 and all(broker is first for broker in brokers)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", "another-queue")
    assert queue_broker() is not first and queue_broker() is queue_broker()
    assert "another-queue" in queue_broker().list_key


def test_events_of_a_savepoint_that_rolled_back_queue_nothing(
    project: Project, member: Any, async_task: Any, django_capture_on_commit_callbacks: Any,
) -> None:
    with mock.patch("automations.emit.broker_in_database", return_value=False):
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        fail_runs(project, member, 2, prefix="gone")
                        raise RuntimeError("rolled back")
                except RuntimeError:
                    pass
                fail_runs(project, member, 1, prefix="kept")

    kept = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    assert len(kept) == 2
    assert queued_batches(async_task) == [kept]


# --- processing -----------------------------------------------------------------------


def test_a_batch_costs_the_same_queries_for_5_and_25_failed_runs(
    project: Project, member: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BEACON_DELIVERY_THREADS = 1  # deliveries handed on once per destination
    hook = make_webhook(project.team)
    other = make_webhook(project.team, "https://other.example.com/hook", name="other")
    on_failure = make_automation(project, hook, event_type="RUN_STATE",
                                 filter={"states": ["failed"]})
    make_automation(project, other, event_type="RUN_STATE", filter={"states": ["failed"]})
    counts = []
    with mock.patch.object(dispatch, "enqueue_delivery", autospec=True) as hand_on:
        for size, prefix in ((5, "a"), (25, "b")):
            with transaction.atomic():
                fail_runs(project, member, size, prefix)
            pending = list(Event.objects.filter(processed_at__isnull=True)
                           .values_list("pk", flat=True))
            with django_capture_on_commit_callbacks(execute=True), \
                    CaptureQueriesContext(connection) as queries:
                tasks.process_events(pending)
            counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert on_failure.executions.filter(status="pending").count() == 30
    assert Execution.objects.count() == 60
    # the oldest new execution of each destination is handed on, per batch
    assert hand_on.call_count == 4


def test_processing_an_event_again_acts_once(project: Project, member: Any) -> None:
    hook = make_webhook(project.team)
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    event = fail_run(project, member, "r1")

    assert tasks.process_event(event.pk) == 1
    assert tasks.process_event(event.pk) == 0
    assert dispatch.process_batch([event.pk]) == []
    assert Execution.objects.count() == 1


def test_a_task_processes_the_other_events_waiting_with_its_own(
    project: Project, member: Any
) -> None:
    hook = make_webhook(project.team)
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    fail_runs(project, member, 3)
    first, *others = Event.objects.order_by("pk").values_list("pk", flat=True)

    assert tasks.process_event(others[-1]) == 3
    assert not Event.objects.filter(processed_at__isnull=True).exists()
    assert [tasks.process_event(pk) for pk in (first, *others)] == [0] * 6


def test_throttled_and_disabled_automations_still_decide_per_execution_in_a_batch(
    project: Project, member: Any
) -> None:
    hook = make_webhook(project.team)
    off = make_webhook(project.team, "https://off.example.com/hook", name="off")
    throttled = make_automation(project, hook, event_type="RUN_STATE",
                                filter={"states": ["running", "failed"]}, name="throttled")
    throttled.throttle_minutes = 60
    throttled.save()
    make_automation(project, off, event_type="RUN_STATE", filter={"states": ["failed"]},
                    name="to-disabled")
    Integration.objects.filter(pk=off.pk).update(disabled_at=timezone.now(),
                                                 disabled_reason="gone")
    with transaction.atomic():
        fail_runs(project, member, 1)  # running, then failed: the same run twice

    tasks.process_events(list(Event.objects.values_list("pk", flat=True)))

    statuses = sorted(Execution.objects.values_list("automation__name", "status"))
    assert statuses == [("throttled", "pending"), ("throttled", "skipped"),
                        ("to-disabled", "skipped")]
    assert Execution.objects.get(automation__name="throttled", status="skipped"
                                 ).error.startswith("throttled")
    assert "is disabled" in Execution.objects.get(automation__name="to-disabled").error


# --- claims and delivery ----------------------------------------------------------------


@pytest.fixture
def due(project: Project, member: Any, receiver: Receiver) -> tuple[Integration, list[int]]:
    hook = make_webhook(project.team, receiver.url("/hook"))
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    with transaction.atomic():
        fail_runs(project, member, 5)
    created = tasks.process_events(list(Event.objects.values_list("pk", flat=True)))
    assert created == 5
    return hook, list(Execution.objects.order_by("pk").values_list("pk", flat=True))


def test_a_claim_holds_a_destinations_due_deliveries_as_one_in_flight(
    due: tuple[Integration, list[int]], settings: Any
) -> None:
    hook, executions = due
    settings.BEACON_DELIVERY_PER_DESTINATION = 1
    claim = dispatch.claim_batch(hook.pk, limit=3)

    assert claim is not None and claim.execution_ids == executions[:3]
    assert dispatch.in_flight(hook.pk, timezone.now()) == 1
    assert dispatch.claim_batch(hook.pk) is None  # the destination is full
    assert not dispatch.claim(executions[4])

    settings.BEACON_DELIVERY_PER_DESTINATION = 2
    second = dispatch.claim_batch(hook.pk)
    assert second is not None and second.execution_ids == executions[3:]
    assert dispatch.in_flight(hook.pk, timezone.now()) == 2


def test_a_claim_is_sent_in_order_each_attempt_recorded(
    due: tuple[Integration, list[int]], receiver: Receiver
) -> None:
    hook, executions = due
    claim = dispatch.claim_batch(hook.pk)
    assert claim is not None

    assert dispatch.deliver_claim(claim, hook.pk) == 5

    assert [r.headers["webhook-id"] for r in receiver.received("/hook")] == list(
        Execution.objects.order_by("pk").values_list("webhook_id", flat=True))
    assert set(Execution.objects.values_list("status", "attempt_count")) == {("finished", 1)}
    assert Attempt.objects.filter(ok=True, status_code=200).count() == 5
    assert dispatch.claim_batch(hook.pk) is None


def test_a_stopping_thread_gives_the_rest_of_its_claim_back(
    due: tuple[Integration, list[int]], receiver: Receiver
) -> None:
    hook, executions = due
    claim = dispatch.claim_batch(hook.pk)
    assert claim is not None
    stopping = threading.Event()
    stopping.set()

    assert dispatch.deliver_claim(claim, hook.pk, stopping) == 0

    assert receiver.received() == []
    assert not Execution.objects.filter(claimed_until__isnull=False).exists()
    assert dispatch.claim_batch(hook.pk).execution_ids == executions


def test_a_claim_renews_before_a_send_that_could_outlast_it(
    due: tuple[Integration, list[int]], receiver: Receiver
) -> None:
    hook, executions = due
    claim = dispatch.claim_batch(hook.pk)
    assert claim is not None
    # The claim is about to run out, and one execution was taken over meanwhile.
    soon = timezone.now() + timedelta(seconds=2)
    claim.until = soon
    Execution.objects.filter(pk__in=executions).update(claimed_until=soon)
    Execution.objects.filter(pk=executions[2]).update(claimed_by="another-thread")

    assert dispatch.deliver_claim(claim, hook.pk) == 4

    assert claim.until > soon + timedelta(seconds=10)
    taken = Execution.objects.get(pk=executions[2])
    assert (taken.status, taken.attempt_count) == ("pending", 0)  # left to its claimer
    assert len(receiver.received("/hook")) == 4


@pytest.mark.skipif(not recording.supported(), reason="PostgreSQL records in one statement")
def test_the_one_statement_record_is_fenced_on_the_attempt_count(
    due: tuple[Integration, list[int]]
) -> None:
    _, executions = due
    now = timezone.now()
    state = {"status": "finished", "attempt_count": 1, "claimed_until": None,
             "finished_at": now, "payload": {"text": "sent"}}
    attempt = {"number": 1, "at": now, "ok": True, "status_code": 200,
               "response_excerpt": "ok", "duration_ms": 3, "error": ""}

    assert recording.record(executions[0], 0, state, attempt)
    assert not recording.record(executions[0], 0, state, attempt)  # recorded already

    execution = Execution.objects.get(pk=executions[0])
    assert (execution.status, execution.attempt_count, execution.payload) == (
        "finished", 1, {"text": "sent"})
    assert Attempt.objects.filter(execution_id=executions[0]).count() == 1
