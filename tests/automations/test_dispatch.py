from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations import dispatch, emit, tasks
from automations.models import Attempt, Event, Execution
from projects.models import Artifact, Project, Run
from registries.models import Registry
from teams.models import Integration, Team
from tests.support.factories import fail_run, make_automation, make_webhook
from tests.support.http import response


@pytest.fixture
def hook(team: Team) -> Integration:
    return make_webhook(team)


def last_event(type: str) -> Event:
    return Event.objects.filter(type=type).order_by("-id").first()


# --- matching ------------------------------------------------------------------


def test_matching_is_one_query_whatever_other_automations_exist(
    team: Team, project: Project, registry: Registry, hook: Integration, member: Any
) -> None:
    mine = make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    event = fail_run(project, member)
    with CaptureQueriesContext(connection) as few:
        assert dispatch.match_automations(event) == [mine]

    other = Project.objects.create(team=team, name="other")
    for _ in range(10):
        make_automation(other, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
        make_automation(project, hook, event_type="CREATE_ARTIFACT")
        make_automation(registry, hook, event_type="LINK_ARTIFACT")
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]},
                    enabled=False, name="off")
    with CaptureQueriesContext(connection) as many:
        assert dispatch.match_automations(event) == [mine]

    assert len(few) == len(many) == 1


def test_an_automation_ignores_events_from_before_it_was_created(
    project: Project, hook: Integration, member: Any
) -> None:
    event = fail_run(project, member)  # still queued when the automation is saved
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})

    assert dispatch.match_automations(event) == []
    assert dispatch.process(event) == []


def test_run_metric_events_match_only_metric_automations(
    project: Project, hook: Integration, member: Any
) -> None:
    threshold = make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                                filter={"metric": "loss", "threshold": 1.0})
    zscore = make_automation(project, hook, event_type="RUN_METRIC_ZSCORE",
                             filter={"metric": "loss"})
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"loss": 0.5})], member)

    assert dispatch.match_automations(last_event("RUN_METRIC")) == [threshold, zscore]


# --- processing ------------------------------------------------------------------


def test_a_matching_event_creates_one_pending_execution_and_records_why(
    project: Project, hook: Integration, member: Any
) -> None:
    failed = make_automation(project, hook, event_type="RUN_STATE",
                             filter={"states": ["failed"]}, name="failed")
    finished = make_automation(project, hook, event_type="RUN_STATE",
                               filter={"states": ["finished"]}, name="finished")
    event = fail_run(project, member)

    executions = dispatch.process(event)

    assert [(e.automation, e.status) for e in executions] == [(failed, "pending")]
    event.refresh_from_db()
    assert event.processed_at is not None
    by_name = {e["name"]: e for e in event.evaluations}
    assert by_name["failed"]["matched"] is True
    assert by_name["finished"] == {
        "automation": finished.pk, "name": "finished", "matched": False,
        "reason": "run state 'failed' is not one of finished",
    }


def test_processing_an_event_twice_creates_one_execution(
    project: Project, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    event = fail_run(project, member)

    dispatch.process(event)
    tasks.process_event(event.pk)

    assert Execution.objects.filter(event=event).count() == 1


def test_deliveries_are_queued_only_after_commit(
    project: Project, hook: Integration, member: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    event = fail_run(project, member)

    with mock.patch("django_q.tasks.async_task", autospec=True) as async_task:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            [execution] = dispatch.process(event)
        assert async_task.call_count == 0
        for callback in callbacks:
            callback()

    async_task.assert_called_once_with(
        "automations.tasks.deliver", execution.pk, task_name=f"deliver-{execution.pk}",
        save=False, broker=emit.queue_broker(),
    )


def test_a_failed_request_queues_nothing(project: Project, member: Any,
                                         django_capture_on_commit_callbacks: Any) -> None:
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            Run.start(project, author=member, run_id="doomed")
            raise RuntimeError("the request fails")

    assert callbacks == []
    assert not Event.objects.filter(subject__endswith="/doomed").exists()


def test_metric_threshold_slides_over_new_points_and_the_first_match_fires(
    project: Project, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                    filter={"metric": "loss", "window": 3, "agg": "avg", "cmp": "gt",
                            "threshold": 2.0})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"loss": 1.0}), (1, {"loss": 1.0})], member)
    assert dispatch.process(last_event("RUN_METRIC")) == []

    # avg over (1, 1, 5) = 2.33 > 2 at step 2, before the later points.
    run.log_history([(2, {"loss": 5.0}), (3, {"loss": 9.0}), (4, {"loss": 9.0})], member)
    execution, *later = dispatch.process(last_event("RUN_METRIC"))

    values = execution.match["values"]
    assert (execution.status, values["metric_step"]) == ("pending", 2)
    assert values["metric_values"] == [1.0, 1.0, 5.0]
    assert execution.match["run_id"] == "r1"
    # the later rows of the batch matched too: recorded, skipped by the 24-hour rule
    assert [(e.status, e.match_step) for e in later] == [("skipped", 3), ("skipped", 4)]
    assert all(f"(execution #{execution.pk})" in e.error for e in later)


def test_a_nan_loss_fires_a_nonfinite_automation(
    project: Project, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                    filter={"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"loss": 0.3}), (1, {"loss": float("nan")})], member)

    [execution] = dispatch.process(last_event("RUN_METRIC"))

    assert execution.match["values"]["metric_value"] == "NaN"
    assert execution.match["values"]["metric_step"] == 1


def test_metric_evaluation_reads_a_bounded_tail_not_the_whole_history(
    project: Project, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                    filter={"metric": "loss", "window": 5, "threshold": 100.0})
    short = Run.start(project, author=member, run_id="short")
    long = Run.start(project, author=member, run_id="long")
    short.log_history([(0, {"loss": 1.0})], member)
    long.log_history([(s, {"loss": 1.0}) for s in range(3000)], member)

    counts = []
    for run in (short, long):
        run.log_history([(5000, {"loss": 1.0})], member)
        event = last_event("RUN_METRIC")
        with mock.patch.object(dispatch, "metric_tail", wraps=dispatch.metric_tail) as tail:
            with CaptureQueriesContext(connection) as queries:
                dispatch.process(event)
        counts.append(len(queries))
        assert tail.call_args.args[3] == 4  # window 5: four values before the new one
    assert counts[0] == counts[1]


def test_metric_automations_fire_once_per_run_per_24_hours(
    project: Project, hook: Integration, member: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                                 filter={"metric": "loss", "window": 1, "threshold": 1.0})
    run = Run.start(project, author=member, run_id="r1")
    other = Run.start(project, author=member, run_id="r2")

    run.log_history([(0, {"loss": 5.0})], member)
    [first] = dispatch.process(last_event("RUN_METRIC"))
    run.log_history([(1, {"loss": 6.0})], member)
    [second] = dispatch.process(last_event("RUN_METRIC"))
    other.log_history([(0, {"loss": 5.0})], member)
    [third] = dispatch.process(last_event("RUN_METRIC"))

    assert first.status == "pending"
    assert second.status == "skipped"
    assert second.error.startswith("already fired for run r1 at ")
    assert "at most once per run per 24 hours" in second.error
    assert third.status == "pending"  # each run on its own

    Execution.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(hours=25))
    run.log_history([(2, {"loss": 7.0})], member)
    [fourth] = dispatch.process(last_event("RUN_METRIC"))
    assert fourth.status == "pending"
    assert automation.executions.count() == 4


def test_a_runs_metric_events_are_processed_in_the_order_they_were_logged(
    project: Project, hook: Integration, member: Any
) -> None:
    # Given a change automation and three history calls whose events are not processed yet
    automation = make_automation(project, hook, event_type="RUN_METRIC_CHANGE", filter={
        "metric": "c", "window": 2, "prior_window": 2, "change_type": "relative",
        "direction": "increase", "amount": 0.5})
    run = Run.start(project, author=member, run_id="zrun")
    run.log_history([(s, {"c": 1.0}) for s in range(5)], member)
    run.log_history([(5, {"c": 3.0})], member)
    at_step_5 = last_event("RUN_METRIC")
    run.log_history([(6, {"c": 3.0})], member)
    at_step_6 = last_event("RUN_METRIC")

    # When a worker picks up the newest event first
    tasks.process_event(at_step_6.pk)

    # Then the earlier events decided first: step 5 fired, step 6 was skipped
    fired = automation.executions.get(status="pending")
    assert fired.event_id == at_step_5.pk
    assert fired.match["values"]["metric_step"] == 5
    assert automation.executions.get(event=at_step_6).status == "skipped"
    assert not Event.objects.filter(type="RUN_METRIC", processed_at__isnull=True).exists()
    # and processing the earlier event again changes nothing
    assert tasks.process_event(at_step_5.pk) == 0
    assert automation.executions.count() == 2


# --- delivery --------------------------------------------------------------------------


def pending_execution(project: Project, integration: Integration, member: Any,
                      config: dict[str, Any] | None = None) -> Execution:
    make_automation(project, integration, event_type="RUN_STATE",
                    filter={"states": ["failed"]}, config=config)
    [execution] = dispatch.process(fail_run(project, member))
    return execution


def test_deliver_sends_records_the_attempt_and_masks_secrets(
    team: Team, project: Project, member: Any, public_dns: Any
) -> None:
    integration = make_webhook(team, access_token="tok-123",
                               payload_secret=("DEPLOY_KEY", "k3y-value"))
    execution = pending_execution(project, integration, member, config={
        "payload": {"text": "${run_name} failed", "key": "${DEPLOY_KEY}"},
    })

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200, "thanks k3y-value")) as post:
        assert tasks.deliver(execution.pk) == "finished"

    sent = post.call_args.kwargs["data"].decode()
    assert '"key":"k3y-value"' in sent
    execution.refresh_from_db()
    assert execution.status == "finished" and execution.finished_at is not None
    assert execution.payload == {"text": "sweep-1 failed", "key": "••••••"}
    [attempt] = execution.attempts.all()
    assert (attempt.number, attempt.ok, attempt.status_code) == (1, True, 200)
    assert attempt.response_excerpt == "thanks ••••••"


def test_a_task_delivered_twice_acts_once(
    project: Project, hook: Integration, member: Any, public_dns: Any
) -> None:
    execution = pending_execution(project, hook, member)

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)) as post:
        tasks.deliver(execution.pk)
        assert tasks.deliver(execution.pk) == "not claimed"

    assert post.call_count == 1
    assert Attempt.objects.filter(execution=execution).count() == 1


def test_a_claimed_execution_is_not_delivered_by_another_worker(
    project: Project, hook: Integration, member: Any
) -> None:
    execution = pending_execution(project, hook, member)

    assert dispatch.claim(execution.pk) is True
    assert dispatch.claim(execution.pk) is False
    Execution.objects.filter(pk=execution.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert dispatch.claim(execution.pk) is True  # a stale claim is taken over


def test_a_server_error_is_retried_later_and_a_client_error_fails_at_once(
    project: Project, hook: Integration, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0, 60, 300]
    execution = pending_execution(project, hook, member)

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(503, "busy")):
        assert tasks.deliver(execution.pk) == "pending"
    execution.refresh_from_db()
    assert execution.status == "pending" and execution.claimed_until is None
    assert execution.next_attempt_at > timezone.now() + timedelta(seconds=55)
    assert tasks.deliver(execution.pk) == "not claimed"  # not due yet
    assert dispatch.due_deliveries(10) == []

    Execution.objects.filter(pk=execution.pk).update(next_attempt_at=timezone.now())
    assert dispatch.due_deliveries(10) == [execution.pk]
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(404, "no such hook")):
        assert tasks.deliver(execution.pk) == "failed"
    execution.refresh_from_db()
    assert execution.error == "The receiver answered HTTP 404."
    assert [a.status_code for a in execution.attempts.all()] == [503, 404]


def test_a_retry_is_left_to_the_poller_never_slept_in_the_worker(
    project: Project, hook: Integration, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0, 0, 0]
    execution = pending_execution(project, hook, member)
    answers = [response(500), response(502), response(200)]

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    side_effect=answers) as post, \
         mock.patch("time.sleep", autospec=True) as sleep:
        assert tasks.deliver(execution.pk) == "pending"
        assert post.call_count == 1
        assert dispatch.due_deliveries(10) == [execution.pk]  # due again at once
        assert tasks.deliver(execution.pk) == "pending"
        assert tasks.deliver(execution.pk) == "finished"

    assert sleep.call_count == 0
    assert [a.status_code for a in Attempt.objects.filter(execution=execution)] == [500, 502, 200]


def test_out_of_attempts_fails(
    project: Project, hook: Integration, member: Any, public_dns: Any, settings: Any
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0]
    execution = pending_execution(project, hook, member)

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    side_effect=requests.ConnectionError("refused")):
        assert tasks.deliver(execution.pk) == "failed"
    assert "Could not connect" in Execution.objects.get(pk=execution.pk).error


# --- exactly-once bookkeeping ---------------------------------------------------------


def test_the_attempt_and_the_executions_new_state_are_one_transaction(
    project: Project, hook: Integration, member: Any, public_dns: Any
) -> None:
    from django.db import DatabaseError

    execution = pending_execution(project, hook, member)

    # The worker fails right after the execution row was updated: nothing is kept.
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)), \
         mock.patch.object(Attempt.objects, "create", side_effect=DatabaseError("killed")), \
         pytest.raises(DatabaseError):
        dispatch.deliver_execution(execution.pk)

    execution.refresh_from_db()
    assert (execution.status, execution.attempt_count) == ("pending", 0)
    assert not execution.attempts.exists()
    assert execution.claimed_until is not None  # sent again once the claim runs out


def test_a_late_duplicate_attempt_is_not_recorded_over_the_first(
    project: Project, hook: Integration, member: Any, public_dns: Any
) -> None:
    from automations.actions.base import DeliveryResult

    execution = pending_execution(project, hook, member)
    slow = dispatch.load_for_delivery(execution.pk)  # its lease ran out during the send
    fast = dispatch.load_for_delivery(execution.pk)

    dispatch.record_attempt(fast, DeliveryResult(ok=True, status=200), {})
    dispatch.record_attempt(slow, DeliveryResult(ok=False, status=500, error="late"), {})

    execution.refresh_from_db()
    assert (execution.status, execution.attempt_count) == ("finished", 1)
    assert [(a.number, a.status_code) for a in execution.attempts.all()] == [(1, 200)]


@pytest.mark.parametrize(("ok", "status", "expected"), [
    (True, 200, "finished"), (False, 503, "pending"), (False, 404, "failed"),
])
def test_an_attempt_stored_but_never_recorded_is_reconciled_not_sent_again(
    project: Project, hook: Integration, member: Any, public_dns: Any, admin_api: Any,
    settings: Any, ok: bool, status: int, expected: str,
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0, 60, 300]
    execution = pending_execution(project, hook, member)
    # What a worker killed between the two writes of an older version left behind.
    Attempt.objects.create(execution=execution, number=1, ok=ok, status_code=status)
    Execution.objects.filter(pk=execution.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1))

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)) as post:
        dispatch.deliver_execution(execution.pk)

    assert post.call_count == 0
    execution.refresh_from_db()
    assert (execution.status, execution.attempt_count) == (expected, 1)
    assert execution.claimed_until is None
    if expected == "pending":
        assert execution.next_attempt_at > timezone.now() + timedelta(seconds=50)
    else:
        r = admin_api.post(f"/teams/acme/executions/{execution.pk}/redeliver")
        assert r.status_code == 202, r.content


def test_the_sweep_reconciles_what_it_finds(
    project: Project, hook: Integration, member: Any
) -> None:
    execution = pending_execution(project, hook, member)
    Attempt.objects.create(execution=execution, number=1, ok=True, status_code=200)

    with mock.patch("automations.tasks.queue_busy", return_value=False):
        assert tasks.sweep() == {"reconciled": 1, "events": 0}
        assert tasks.sweep() == {"reconciled": 0, "events": 0}
    assert Execution.objects.get(pk=execution.pk).status == "finished"


# --- isolation and recovery -------------------------------------------------------------


def test_a_claim_lasts_a_little_longer_than_the_longest_send(
    project: Project, hook: Integration, member: Any, settings: Any
) -> None:
    settings.BEACON_WEBHOOK_CONNECT_TIMEOUT, settings.BEACON_WEBHOOK_READ_TIMEOUT = 5, 15
    settings.BEACON_CLAIM_MARGIN = 5
    execution = pending_execution(project, hook, member)

    before = timezone.now()
    assert dispatch.claim(execution.pk)

    execution.refresh_from_db()
    held = execution.claimed_until - before
    assert timedelta(seconds=24) < held <= timedelta(seconds=26)


def test_deliveries_in_flight_per_destination_are_bounded(
    team: Team, project: Project, hook: Integration, member: Any, settings: Any
) -> None:
    settings.BEACON_DELIVERY_PER_DESTINATION = 2
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    other = make_webhook(team, "https://other.example.com/", name="other")
    make_automation(project, other, event_type="RUN_STATE", filter={"states": ["failed"]},
                    name="to-other")
    executions = []
    for n in range(3):
        executions += dispatch.process(fail_run(project, member, f"r{n}"))
    to_hook = [e.pk for e in executions if e.automation.integration_id == hook.pk]
    to_other = [e.pk for e in executions if e.automation.integration_id == other.pk]

    assert [dispatch.claim(pk) for pk in to_hook] == [True, True, False]
    # The full destination's waiting delivery is not offered; the other's are.
    assert sorted(dispatch.due_deliveries(10)) == sorted(to_other)
    assert dispatch.claim(to_other[0]) is True
    # A claim that ran out (its worker died) no longer counts, and is due again.
    Execution.objects.filter(pk=to_hook[0]).update(
        claimed_until=timezone.now() - timedelta(seconds=1))
    assert to_hook[0] in dispatch.due_deliveries(10)
    assert dispatch.claim(to_hook[2]) is True


def test_a_test_execution_is_sent_even_when_its_destination_is_full(
    project: Project, hook: Integration, member: Any, public_dns: Any, settings: Any
) -> None:
    from automations.operations import run_test

    settings.BEACON_DELIVERY_PER_DESTINATION = 1
    execution = pending_execution(project, hook, member)
    assert dispatch.claim(execution.pk)

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)):
        tested = run_test(execution.automation, member)

    assert tested.status == "finished"
    assert tested.pk not in dispatch.due_deliveries(10)


def test_lost_events_are_requeued_and_ones_waiting_their_turn_are_not(
    project: Project, hook: Integration, member: Any
) -> None:
    Event.objects.update(processed_at=timezone.now())

    def event(age: float, processed: float | None = None) -> Event:
        now = timezone.now()
        return Event.objects.create(
            team=project.team, type="RUN_STATE", scope_type="project", project=project,
            subject="x", data={}, created_at=now - timedelta(seconds=age),
            processed_at=None if processed is None else now - timedelta(seconds=processed),
        )

    old, stale, fresh = event(120), event(45), event(5)

    def requeued(busy: bool) -> set[int]:
        with mock.patch("django_q.tasks.async_task", autospec=True) as async_task, \
             mock.patch("automations.tasks.queue_busy", return_value=busy):
            assert tasks.requeue_lost_events() == async_task.call_count
        return {call.args[1] for call in async_task.call_args_list}

    # A busy queue: the stale event may be waiting its turn; the old one is lost.
    assert requeued(busy=True) == {old.pk}
    # An idle queue: nothing is waiting, every stale event was lost.
    assert requeued(busy=False) == {old.pk, stale.pk}
    # A busy queue, but an event queued later was processed a while ago: overtaken, lost.
    event(40, processed=15)
    assert requeued(busy=True) == {old.pk, stale.pk}
    assert fresh.pk not in requeued(busy=False)


def test_a_requeued_event_that_was_processed_meanwhile_is_skipped(
    project: Project, hook: Integration, member: Any
) -> None:
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})
    event = fail_run(project, member)
    tasks.process_event(event.pk)

    with mock.patch.object(dispatch, "process_in_order", autospec=True) as process:
        assert tasks.process_event(event.pk) == 0
    assert process.call_count == 0


def test_artifact_events_render_their_variables(
    project: Project, hook: Integration, member: Any, public_dns: Any
) -> None:
    make_automation(project, hook, event_type="ADD_ARTIFACT_ALIAS",
                    filter={"alias_regex": "^prod"},
                    config={"payload": {"ref": "${artifact_version_string}", "a": "${alias}",
                                        "acc": "${artifact_metadata.acc}"}})
    Artifact.log_version(project, name="model", type="model", digest="d1",
                         metadata={"acc": 0.9}, aliases=["staging", "production"], author=member)
    executions = []
    for event in Event.objects.filter(type="ADD_ARTIFACT_ALIAS").order_by("id"):
        executions += dispatch.process(event)
    [execution] = executions

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)):
        tasks.deliver(execution.pk)

    execution.refresh_from_db()
    assert execution.payload == {"ref": "acme/mnist/model:v0", "a": "production", "acc": "0.9"}


def test_the_automation_page_shows_when_each_run_can_fire_again(
    project: Project, hook: Integration, member: Any, admin: Any, client_for: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                                 filter={"metric": "loss", "window": 1, "threshold": 1.0})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"loss": 5.0}), (1, {"loss": 6.0}), (2, {"loss": 7.0})], member)
    fired, *skipped = dispatch.process(last_event("RUN_METRIC"))
    run.log_history([(3, {"loss": 8.0})], member)
    skipped += dispatch.process(last_event("RUN_METRIC"))

    assert fired.status == "pending"
    assert [e.status for e in skipped] == ["skipped"] * 3
    again = fired.created_at + timedelta(hours=24)
    for e in skipped:
        assert e.match["counted"] == fired.pk
        assert fired.created_at.isoformat(timespec="seconds") in e.error
        assert again.isoformat(timespec="seconds") in e.error
    [row] = dispatch.next_fire_times(automation)
    assert (row["run_id"], row["fired"], row["next"]) == ("r1", fired, again)

    html = client_for(admin).get(automation.get_absolute_url()).content.decode()
    assert "Once per run per 24 hours" in html
    assert again.strftime("%Y-%m-%d %H:%M:%S") in html  # TIME_ZONE is UTC
    assert f"#{fired.pk}" in html
    one_skipped = automation.executions.filter(status="skipped").first()
    skipped_page = client_for(admin).get(one_skipped.get_absolute_url()).content.decode()
    assert f'the execution that counted is <a href="{fired.get_absolute_url()}">' in skipped_page


def test_a_long_batch_of_matching_rows_is_recorded_in_few_queries(
    project: Project, hook: Integration, member: Any
) -> None:
    automation = make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD",
                                 filter={"metric": "loss", "window": 1, "threshold": 1.0})
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(s, {"loss": 5.0}) for s in range(2000)], member)

    with CaptureQueriesContext(connection) as queries:
        dispatch.process(last_event("RUN_METRIC"))

    assert automation.executions.filter(status="pending").count() == 1
    assert automation.executions.filter(status="skipped").count() == 1999
    # SQLite binds at most 999 values per statement: ~58 rows of 17 columns per INSERT
    assert len(queries) < 60
    # processing the event again records nothing new
    Event.objects.update(processed_at=None)
    assert dispatch.process(last_event("RUN_METRIC")) == []
    assert automation.executions.count() == 2000
