"""Noise control: the skip decisions (disabled integration, mute, throttle), the
integration health rules (gone answers, failing for BEACON_DISABLE_AFTER), and both
end to end through ``dispatch`` with real loopback receivers and a fake Slack."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from automations import dispatch, integration_health, noise, tasks
from automations.actions.base import DeliveryResult
from automations.models import Automation, Event, Execution
from projects.models import Artifact, Project, Run
from registries.models import Registry
from teams.models import Integration, Team
from tests.support.factories import fail_run, make_automation, make_slack, make_webhook
from tests.support.fake_slack import FakeSlack
from tests.support.receiver import Receiver

LOOPBACK = ["127.0.0.0/8", "::1/128"]


@pytest.fixture
def loopback(settings: Any) -> None:
    """Deliveries may reach the loopback receivers whatever DEBUG says."""
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = LOOPBACK
    settings.BEACON_RETRY_SCHEDULE = [0]


def on_failure(project: Project, integration: Integration, **fields: Any) -> Automation:
    automation = make_automation(project, integration, event_type="RUN_STATE",
                                 filter={"states": ["failed"]})
    if fields:
        Automation.objects.filter(pk=automation.pk).update(**fields)
        automation.refresh_from_db()
    return automation


def process_run_failure(project: Project, user: Any, run_id: str) -> Execution:
    [execution] = dispatch.process(fail_run(project, user, run_id))
    return execution


# --- throttle keys ---------------------------------------------------------------------


def test_the_throttle_counts_per_run_artifact_or_collection() -> None:
    def key(data: dict[str, Any]) -> str:
        return noise.throttle_key(Event(data=data))

    assert key({"run": {"id": "r1", "name": "r1"}, "state": "failed"}) == "run:r1"
    assert key({"artifact": {"name": "model", "version": "v3"}}) == "artifact:model"
    assert key({"collection": "prod", "linked": {"collection": "prod"},
                "artifact": {"name": "model"}}) == "collection:prod"
    assert key({}) == ""
    assert key({"run": "not an object"}) == ""


# --- each decision on its own ---------------------------------------------------------------


def test_an_enabled_integration_lets_the_automation_act(
    project: Project, team: Team
) -> None:
    automation = on_failure(project, make_webhook(team))
    assert noise.integration_disabled(automation) == ""


def test_a_disabled_integration_says_why(project: Project, team: Team) -> None:
    hook = make_webhook(team)
    integration_health.disable(hook, "the destination answered HTTP 410 (gone)")
    automation = on_failure(project, hook)

    reason = noise.integration_disabled(automation)
    assert reason.startswith("integration deploy is disabled: the destination answered HTTP 410")
    assert "re-enable" in reason


def test_mute_holds_until_its_time_and_not_after(project: Project, team: Team) -> None:
    now = timezone.now()
    automation = on_failure(project, make_webhook(team), muted_until=now + timedelta(hours=1))

    assert noise.muted(automation, now).startswith("automation is muted until ")
    assert noise.muted(automation, now + timedelta(hours=1)) == ""
    automation.muted_until = None
    assert noise.muted(automation, now) == ""


def test_throttle_looks_only_at_executions_that_acted_within_the_window(
    project: Project, team: Team, member: Any
) -> None:
    automation = on_failure(project, make_webhook(team), throttle_minutes=10)
    first = process_run_failure(project, member, "r1")
    assert first.status == "pending" and first.match["throttle_key"] == "run:r1"
    now = timezone.now()

    assert "already acted on run r1" in noise.throttled(automation, "run:r1", now)
    assert noise.throttled(automation, "run:r2", now) == ""  # another run
    assert noise.throttled(automation, "run:r1", now + timedelta(minutes=11)) == ""
    assert noise.throttled(automation, "", now) == ""  # nothing to count per

    Execution.objects.filter(pk=first.pk).update(status="skipped")  # skipped ones do not count
    assert noise.throttled(automation, "run:r1", now) == ""
    automation.throttle_minutes = None
    Execution.objects.filter(pk=first.pk).update(status="finished")
    assert noise.throttled(automation, "run:r1", now) == ""


def test_a_disabled_integration_wins_over_mute_and_throttle(
    project: Project, team: Team, member: Any
) -> None:
    hook = make_webhook(team)
    now = timezone.now()
    automation = on_failure(project, hook, muted_until=now + timedelta(hours=1),
                            throttle_minutes=5)
    event = fail_run(project, member)
    assert noise.skip_reason(automation, event, now).startswith("automation is muted")
    integration_health.disable(hook, "Slack answered channel_not_found")
    automation.refresh_from_db()
    assert noise.skip_reason(automation, event, now).startswith("integration deploy is disabled")


# --- through create_executions ------------------------------------------------------------


def test_executions_of_a_disabled_integration_are_skipped_with_the_reason(
    project: Project, team: Team, member: Any
) -> None:
    hook = make_webhook(team)
    on_failure(project, hook)
    integration_health.disable(hook, "Slack answered channel_not_found")

    with mock.patch.object(dispatch, "enqueue_delivery", autospec=True) as enqueue:
        execution = process_run_failure(project, member, "r1")

    assert execution.status == "skipped" and execution.finished_at is not None
    assert execution.error.startswith("integration deploy is disabled: Slack answered "
                                      "channel_not_found")
    assert execution.attempts.count() == 0 and enqueue.call_count == 0


def test_a_muted_automation_records_skipped_executions_until_the_mute_ends(
    project: Project, team: Team, member: Any
) -> None:
    automation = on_failure(project, make_webhook(team),
                            muted_until=timezone.now() + timedelta(hours=2))

    muted = process_run_failure(project, member, "r1")
    assert muted.status == "skipped" and "muted until" in muted.error

    Automation.objects.filter(pk=automation.pk).update(
        muted_until=timezone.now() - timedelta(seconds=1)
    )
    assert process_run_failure(project, member, "r2").status == "pending"


def test_throttle_acts_once_per_run_within_the_window(
    project: Project, team: Team, member: Any
) -> None:
    automation = on_failure(project, make_webhook(team), throttle_minutes=30)
    first = process_run_failure(project, member, "r1")
    run = Run.objects.get(project=project, run_id="r1")
    run.set_state("running", member)
    run.set_state("failed", member)
    [again] = dispatch.process(Event.objects.filter(type="RUN_STATE").order_by("-id").first())
    other = process_run_failure(project, member, "r2")

    assert first.status == "pending" and other.status == "pending"
    assert again.status == "skipped"
    assert "already acted on run r1" in again.error
    assert "at most once every 30 minutes per run or artifact" in again.error

    # After the window it acts again.
    Execution.objects.filter(automation=automation).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )
    run.set_state("running", member)
    run.set_state("failed", member)
    [later] = dispatch.process(Event.objects.filter(type="RUN_STATE").order_by("-id").first())
    assert later.status == "pending"


def test_throttle_counts_per_artifact(
    project: Project, team: Team, member: Any
) -> None:
    automation = make_automation(project, make_webhook(team), event_type="CREATE_ARTIFACT")
    Automation.objects.filter(pk=automation.pk).update(throttle_minutes=60)
    executions = []
    for name, digest in (("model", "d1"), ("model", "d2"), ("data", "d3")):
        Artifact.log_version(project, name=name, type="model", digest=digest, author=member)
        executions += dispatch.process(
            Event.objects.filter(type="CREATE_ARTIFACT").order_by("-id").first()
        )

    assert [e.status for e in executions] == ["pending", "skipped", "pending"]
    assert "already acted on artifact model" in executions[1].error


def test_throttle_counts_per_collection_in_a_registry(
    project: Project, registry: Registry, team: Team, member: Any
) -> None:
    automation = make_automation(registry, make_webhook(team), event_type="LINK_ARTIFACT")
    Automation.objects.filter(pk=automation.pk).update(throttle_minutes=60)
    versions = [
        Artifact.log_version(project, name="model", type="model", digest=d, author=member)[0]
        for d in ("d1", "d2")
    ]
    executions = []
    for version, collection in ((versions[0], "prod"), (versions[1], "prod"),
                                (versions[1], "staging")):
        registry.link(collection, version, aliases=[], author=member)
        executions += dispatch.process(
            Event.objects.filter(type="LINK_ARTIFACT").order_by("-id").first()
        )

    assert [e.status for e in executions] == ["pending", "skipped", "pending"]
    assert "already acted on collection prod" in executions[1].error


# --- integration health rules -------------------------------------------------------------


def failed(status: int | None = None, body: str = "", permanent: bool = True) -> DeliveryResult:
    return DeliveryResult(ok=False, status=status, response_excerpt=body, permanent=permanent,
                          error="refused")


@pytest.mark.parametrize(("kind", "result", "reason"), [
    ("webhook", failed(410, "gone"), "the destination answered HTTP 410 (gone)"),
    ("slack", failed(410, "channel_is_archived"), "the destination answered HTTP 410 (gone)"),
    ("slack", failed(404, "no_service"), "Slack answered no_service"),
    ("slack", failed(403, "invalid_token"), "Slack answered invalid_token"),
    ("slack", failed(200, '{"ok": false, "error": "channel_not_found"}'),
     "Slack answered channel_not_found"),
    ("slack", failed(200, '{"ok": false, "error": "invalid_auth"}'),
     "Slack answered invalid_auth"),
])
def test_answers_that_say_the_destination_is_gone(
    team: Team, kind: str, result: DeliveryResult, reason: str
) -> None:
    integration = make_webhook(team) if kind == "webhook" else make_slack(
        team, webhook_url="https://hooks.slack.example/x")
    assert integration_health.gone_reason(integration, result) == reason


@pytest.mark.parametrize("result", [
    failed(400, "bad payload"),  # about one payload, not the destination
    failed(404, "not here"),  # a webhook's 404: may be a deploy in progress
    failed(401, '{"error": "invalid_token"}'),  # Slack codes mean nothing from a webhook
    failed(503, "busy", permanent=False),
    failed(None, "", permanent=True),  # a payload that could not be built
    DeliveryResult(ok=True, status=200),
])
def test_other_answers_do_not_disable_a_webhook(team: Team, result: DeliveryResult) -> None:
    assert integration_health.gone_reason(make_webhook(team), result) == ""


@pytest.mark.parametrize("result", [
    failed(200, '{"ok": false, "error": "invalid_blocks"}'),  # the message, not the channel
    failed(200, '{"ok": false, "error": "ratelimited"}', permanent=False),
    failed(400, "invalid_payload"),
    failed(500, "<html>channel_not_found</html>"),
])
def test_other_slack_answers_do_not_disable(team: Team, result: DeliveryResult) -> None:
    slack = make_slack(team, webhook_url="https://hooks.slack.example/x")
    assert integration_health.gone_reason(slack, result) == ""


def test_failing_for_the_disable_after_period_disables(team: Team, settings: Any) -> None:
    settings.BEACON_DISABLE_AFTER = timedelta(days=5)
    hook = make_webhook(team)
    start = timezone.now()
    transient = failed(503, "busy", permanent=False)

    with mock.patch("automations.integration_health.timezone.now", return_value=start):
        integration_health.note_outcome(hook, transient)
    hook.refresh_from_db()
    assert hook.failing_since == start and hook.enabled

    with mock.patch("automations.integration_health.timezone.now",
                    return_value=start + timedelta(days=4, hours=23)):
        integration_health.note_outcome(hook, transient)
    hook.refresh_from_db()
    assert hook.failing_since == start and hook.enabled  # the streak keeps its start

    later = start + timedelta(days=5)
    with mock.patch("automations.integration_health.timezone.now", return_value=later):
        integration_health.note_outcome(hook, transient)
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_at == later
    assert hook.disabled_reason.startswith("every delivery has failed since ")
    assert hook.disabled_reason.endswith("(more than 5 days)")


def test_a_success_ends_the_failing_streak(team: Team, settings: Any) -> None:
    settings.BEACON_DISABLE_AFTER = timedelta(hours=1)
    hook = make_webhook(team)
    start = timezone.now() - timedelta(hours=2)
    transient = failed(None, "", permanent=False)
    with mock.patch("automations.integration_health.timezone.now", return_value=start):
        integration_health.note_outcome(hook, transient)

    integration_health.note_outcome(hook, DeliveryResult(ok=True, status=200))
    hook.refresh_from_db()
    assert hook.failing_since is None

    integration_health.note_outcome(hook, transient)  # a new streak, not two hours old
    hook.refresh_from_db()
    assert hook.enabled and hook.failing_since > start + timedelta(hours=1)


def test_a_stale_copy_keeps_the_earliest_failure(team: Team, settings: Any) -> None:
    settings.BEACON_DISABLE_AFTER = timedelta(hours=1)
    hook = make_webhook(team)
    stale = Integration.objects.get(pk=hook.pk)  # loaded by another worker before the streak
    start = timezone.now() - timedelta(hours=2)
    with mock.patch("automations.integration_health.timezone.now", return_value=start):
        integration_health.note_outcome(hook, failed(503, permanent=False))

    integration_health.note_outcome(stale, failed(503, permanent=False))
    stale.refresh_from_db()
    assert stale.failing_since == start and not stale.enabled


def test_enable_clears_the_disabled_state_and_the_streak(team: Team) -> None:
    hook = make_webhook(team)
    integration_health.note_outcome(hook, failed(410, "gone"))
    hook.refresh_from_db()
    assert not hook.enabled and hook.failing_since is None
    assert integration_health.disable(hook, "again") is False  # the first reason stays

    integration_health.enable(hook)
    hook.refresh_from_db()
    assert hook.enabled and hook.disabled_reason == "" and hook.failing_since is None


# --- end to end: real receivers, a fake Slack ----------------------------------------------


def test_a_410_gone_disables_the_webhook_and_later_events_are_skipped(
    project: Project, team: Team, member: Any, loopback: None
) -> None:
    with Receiver() as receiver:
        receiver.respond("/hook", 410, {"error": "this hook was deleted"})
        hook = make_webhook(team, receiver.url("/hook"))
        on_failure(project, hook)
        first = process_run_failure(project, member, "r1")
        assert tasks.deliver(first.pk) == "failed"
        hook.refresh_from_db()
        assert not hook.enabled
        assert hook.disabled_reason == "the destination answered HTTP 410 (gone)"

        second = process_run_failure(project, member, "r2")
        assert second.status == "skipped" and "integration deploy is disabled" in second.error
        assert len(receiver.received()) == 1  # the skipped execution sent nothing

        integration_health.enable(hook)
        receiver.respond("/hook", 200, {"ok": True})
        third = process_run_failure(project, member, "r3")
        assert tasks.deliver(third.pk) == "finished"
        assert len(receiver.received()) == 2


def test_a_revoked_slack_token_disables_the_slack_integration(
    project: Project, team: Team, member: Any, loopback: None, settings: Any
) -> None:
    with FakeSlack() as slack:
        settings.SLACK_API_URL = slack.api_url
        integration = make_slack(team, bot_token="xoxb-revoked", channel_id="C0123")
        make_automation(project, integration, event_type="RUN_STATE",
                        filter={"states": ["failed"]})
        execution = process_run_failure(project, member, "r1")
        assert tasks.deliver(execution.pk) == "failed"

    integration.refresh_from_db()
    assert not integration.enabled and integration.disabled_reason == "Slack answered invalid_auth"


class DeletedWebhookSlack(FakeSlack):
    """Slack after the incoming webhook was removed: ``404 no_service``."""

    def handle(self, request: Any) -> tuple[int, bytes, str]:
        if request.path.startswith("/services/"):
            return 404, b"no_service", "text/plain"
        return super().handle(request)


def test_a_removed_slack_webhook_disables_the_slack_integration(
    project: Project, team: Team, member: Any, loopback: None
) -> None:
    with DeletedWebhookSlack() as slack:
        integration = make_slack(team, webhook_url=slack.webhook_url())
        make_automation(project, integration, event_type="RUN_STATE",
                        filter={"states": ["failed"]})
        execution = process_run_failure(project, member, "r1")
        assert tasks.deliver(execution.pk) == "failed"
        assert len(slack.received()) == 1

    integration.refresh_from_db()
    assert not integration.enabled and integration.disabled_reason == "Slack answered no_service"


def test_a_server_error_only_starts_the_failing_streak(
    project: Project, team: Team, member: Any, loopback: None
) -> None:
    with Receiver() as receiver:
        receiver.respond("/hook", 503, {"error": "busy"})
        hook = make_webhook(team, receiver.url("/hook"))
        on_failure(project, hook)
        execution = process_run_failure(project, member, "r1")
        assert tasks.deliver(execution.pk) == "failed"  # out of attempts (schedule [0])

    hook.refresh_from_db()
    assert hook.enabled and hook.failing_since is not None


# --- concurrency (PostgreSQL: SQLite serialises every writer anyway) ---------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_throttle_one_run_once(team: Team, member: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks are a PostgreSQL matter")
    import threading

    from django.db import connections

    project = Project.objects.create(team=team, name="mnist")
    on_failure(project, make_webhook(team), throttle_minutes=60)
    run = Run.start(project, author=member, run_id="r1")
    events = []
    for _ in range(4):
        run.set_state("failed", member)
        events.append(Event.objects.filter(type="RUN_STATE").order_by("-id").first())
        run.set_state("running", member)
    barrier = threading.Barrier(len(events))
    errors: list[BaseException] = []

    def work(event: Event) -> None:
        try:
            barrier.wait(timeout=60)
            dispatch.process(event)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    with mock.patch.object(dispatch, "enqueue_delivery", autospec=True):
        threads = [threading.Thread(target=work, args=(e,)) for e in events]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not errors
    statuses = sorted(Execution.objects.values_list("status", flat=True))
    assert statuses == ["pending", "skipped", "skipped", "skipped"]
