"""The pipeline after ``emit_event``: match → evaluate → create executions → deliver.

Each link is a named function with a contract:

- :func:`match_automations` — the enabled automations of the event's scope that
  listen to its type, in one indexed query;
- :func:`evaluate_event` — each automation's verdict (metric automations slide
  over the event's new points, reading only the history tail they need);
- :func:`create_executions` — one Execution per (automation, event) — per matching
  step for metric automations — at most once, with the 24-hour rule for metric
  automations; delivery queued on commit;
- :func:`deliver_execution` — claim, render, send, record the attempt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from automations.actions import action_for
from automations.actions.base import DeliveryResult, EventContext, excerpt
from automations.conditions import Verdict, evaluate, evaluate_metric, history_needed
from automations.events import PROJECT, describe, get_spec, source_types_to_specs
from automations.models import Attempt, Automation, Event, Execution
from automations.templating import mask_secrets

log = logging.getLogger(__name__)

METRIC_EVENT = "RUN_METRIC"
FIRE_ONCE_PER = timedelta(hours=24)
# A worker holds an execution this long; after that the sweep may hand it to another.
CLAIM_FOR = timedelta(minutes=5)
# Retries due this soon are made by the same task after a sleep: the scheduler only
# looks at its schedules every few seconds, too coarse for the first, short delays.
INLINE_RETRY_LIMIT = 10.0


@dataclass(frozen=True)
class Match:
    """An automation's verdict on an event. A metric event's batch of rows may match
    at several steps: ``verdict`` is the first, ``later`` the matches after it."""

    automation: Automation
    verdict: Verdict
    later: tuple[Verdict, ...] = ()

    @property
    def verdicts(self) -> list[Verdict]:
        return [self.verdict, *self.later] if self.verdict.matched else []


# --- matching and evaluation ----------------------------------------------------


def match_automations(event: Event) -> list[Automation]:
    """Enabled automations of the event's scope whose type listens to ``event.type``.

    One query served by the partial indexes ``automation_match_project`` /
    ``automation_match_registry``: its cost does not grow with automations of
    other projects, registries or event types. Automations created after the
    event are left out."""
    types = [str(spec.type) for spec in source_types_to_specs(event.scope_type, event.type)]
    if not types:
        return []
    scoped = (
        Q(project_id=event.project_id) if event.scope_type == PROJECT
        else Q(registry_id=event.registry_id)
    )
    # An automation reacts to what happens after it was created, not to older events
    # that were still waiting in the queue when it was saved.
    return list(
        Automation.objects.filter(
            scoped, event_type__in=types, enabled=True, created_at__lte=event.created_at
        ).order_by("pk")
    )


def metric_tail(run_pk: int, metric: str, before_step: int, count: int) -> list[float]:
    """The last ``count`` values of ``metric`` before ``before_step`` (oldest first)."""
    from projects.models import MetricPoint

    if count <= 0:
        return []
    points = (
        MetricPoint.objects.filter(run_id=run_pk, key=metric, step__lt=before_step)
        .order_by("-step", "-id")
        .values_list("value", flat=True)[:count]
    )
    return [MetricPoint(value=v).as_float for v in reversed(list(points))]


def new_points(run_pk: int, metric: str, first: int, last: int) -> list[tuple[int, float]]:
    """The points of ``metric`` this event logged, in step order."""
    from projects.models import MetricPoint

    points = (
        MetricPoint.objects.filter(run_id=run_pk, key=metric, step__gte=first, step__lte=last)
        .order_by("step", "id")
        .values_list("step", "value")
    )
    return [(step, MetricPoint(value=v).as_float) for step, v in points]


def evaluate_metric_event(
    automation: Automation, event: Event, run_pk: int | None
) -> list[Verdict]:
    """Slide the automation's window over the event's new points.

    Returns every matching verdict in step order, or the last verdict (not matched)
    when no point matched."""
    pre = evaluate(automation.event_type, automation.scope_type, automation.filter, event.data)
    if not pre.matched:
        return [pre]
    if run_pk is None:
        return [Verdict(False, "the run no longer exists")]
    metric = automation.filter["metric"]
    first, last = int(event.data["first_step"]), int(event.data["last_step"])
    needed = history_needed(automation.event_type, automation.filter)
    window = metric_tail(run_pk, metric, first, needed - 1)
    verdict = Verdict(False, f"metric '{metric}' has no new values")
    matched: list[Verdict] = []
    for step, value in new_points(run_pk, metric, first, last):
        window = [*window, value][-needed:]
        verdict = evaluate_metric(automation.event_type, automation.filter, window, step)
        if verdict.matched:
            matched.append(verdict)
    return matched or [verdict]


def evaluate_event(event: Event, automations: list[Automation]) -> list[Match]:
    """Every automation's verdict on ``event`` (matched or not, with the reason)."""
    run_pk: int | None = None
    if event.type == METRIC_EVENT and automations:
        from projects.models import Run

        run_pk = (
            Run.objects.filter(project_id=event.project_id, run_id=event.run_id)
            .values_list("pk", flat=True).first()
        )
    matches = []
    for automation in automations:
        later: list[Verdict] = []
        try:
            if event.type == METRIC_EVENT:
                verdict, *later = evaluate_metric_event(automation, event, run_pk)
            else:
                verdict = evaluate(
                    automation.event_type, automation.scope_type, automation.filter, event.data
                )
        except (KeyError, ValueError, TypeError) as exc:
            # A filter saved before a catalog change must not stop the other automations.
            log.warning("automation %s could not evaluate event %s: %s",
                        automation.pk, event.pk, exc)
            verdict = Verdict(False, f"the filter could not be evaluated: {exc}")
        matches.append(Match(automation, verdict, tuple(later)))
    return matches


# --- executions -------------------------------------------------------------------


def already_fired(automation: Automation, run_id: str, now: Any) -> Execution | None:
    """The execution that fired ``automation`` for ``run_id`` in the last 24 hours."""
    return (
        Execution.objects.filter(
            automation=automation,
            trigger=Execution.Trigger.EVENT,
            created_at__gte=now - FIRE_ONCE_PER,
            match__run_id=run_id,
        )
        .exclude(status=Execution.Status.SKIPPED)
        .order_by("-created_at")
        .first()
    )


def fire_once_note(run_id: str, fired: Execution) -> str:
    """Why a metric match was skipped: the execution that counted, and when the run
    can fire again."""
    at = fired.created_at.isoformat(timespec="seconds")
    again = (fired.created_at + FIRE_ONCE_PER).isoformat(timespec="seconds")
    return (
        f"already fired for run {run_id} at {at} (execution #{fired.pk}); metric "
        f"automations fire at most once per run per 24 hours, so the next can fire "
        f"from {again}"
    )


def next_fire_times(automation: Automation, now: Any = None) -> list[dict[str, Any]]:
    """Runs an automation fired for in the last 24 hours: ``{"run_id", "fired",
    "next"}`` (the execution that counted; when the run can fire again), soonest first."""
    now = now or timezone.now()
    fired = (
        Execution.objects.filter(
            automation=automation, trigger=Execution.Trigger.EVENT,
            created_at__gte=now - FIRE_ONCE_PER,
        )
        .exclude(status=Execution.Status.SKIPPED)
        .order_by("created_at", "id")
    )
    latest: dict[str, Execution] = {}
    for execution in fired:
        run_id = (execution.match or {}).get("run_id")
        if run_id:
            latest[str(run_id)] = execution
    return [
        {"run_id": run_id, "fired": e, "next": e.created_at + FIRE_ONCE_PER}
        for run_id, e in sorted(latest.items(), key=lambda item: item[1].created_at)
    ]


def create_executions(event: Event, matches: list[Match]) -> list[Execution]:
    """One Execution per matched automation and event; delivery queued on commit.

    A metric event's batch of rows may match at several steps: each matching step is
    one execution. A metric automation fires at most once per run in 24 hours:
    every later match — in a later event or later in the same batch — is recorded
    ``skipped``, naming the execution that counted and when the run can fire again.
    Idempotent: processing the same event again creates nothing new (the unique
    constraints ``execution_once_per_event`` / ``execution_once_per_step`` decide races)."""
    created = []
    run_id = event.run_id
    for match in matches:
        if not match.verdicts:
            continue
        automation = match.automation
        if not get_spec(automation.scope_type, automation.event_type).is_metric_event:
            execution = _create_execution(automation, event, match.verdict, run_id, None)
            if execution is not None:
                created.append(execution)
            continue
        with transaction.atomic():
            # Serialise fire-once decisions of one automation across workers.
            Automation.objects.select_for_update().filter(pk=automation.pk).first()
            previous = already_fired(automation, run_id, timezone.now())
            recorded = set(
                Execution.objects.filter(
                    automation=automation, event=event, trigger=Execution.Trigger.EVENT
                ).values_list("match_step", flat=True)
            )
            skipped: list[Execution] = []
            for verdict in match.verdicts:
                step = verdict.values.get("metric_step")
                if step in recorded:
                    continue  # this event was processed before: that step already acted
                if previous is None:
                    previous = _create_execution(automation, event, verdict, run_id, step)
                    if previous is not None:
                        created.append(previous)
                    continue
                skipped.append(_skipped(automation, event, verdict, run_id, step, previous))
            # One statement for a batch of later matches (a long run of rows may match).
            Execution.objects.bulk_create(skipped, batch_size=500, ignore_conflicts=True)
            created += skipped
    return created


def _create_execution(
    automation: Automation, event: Event, verdict: Verdict, run_id: str, step: int | None
) -> Execution | None:
    """A pending execution, its delivery queued on commit; None when the event (or this
    step of it) already has one."""
    now = timezone.now()
    try:
        with transaction.atomic():
            execution = Execution.objects.create(
                automation=automation,
                event=event,
                trigger=Execution.Trigger.EVENT,
                status=Execution.Status.PENDING,
                match={**verdict.as_json(), "run_id": run_id},
                match_step=step,
                target=automation.integration.target,
                next_attempt_at=now,
            )
    except IntegrityError:
        return None  # this event was processed before: it already acted
    enqueue_delivery_on_commit(execution.pk)
    return execution


def _skipped(
    automation: Automation, event: Event, verdict: Verdict, run_id: str, step: int | None,
    counted: Execution,
) -> Execution:
    now = timezone.now()
    return Execution(
        automation=automation,
        event=event,
        trigger=Execution.Trigger.EVENT,
        status=Execution.Status.SKIPPED,
        error=fire_once_note(run_id, counted),
        match={**verdict.as_json(), "run_id": run_id, "counted": counted.pk},
        match_step=step,
        finished_at=now,
        created_at=now,
    )


def enqueue_delivery(execution_id: int) -> None:
    from django_q.tasks import async_task

    async_task("automations.tasks.deliver", execution_id, task_name=f"deliver-{execution_id}")


def enqueue_delivery_on_commit(execution_id: int) -> None:
    transaction.on_commit(lambda: enqueue_delivery(execution_id))


def process(event: Event) -> list[Execution]:
    """Match, evaluate, record the evaluations, create executions (the whole step 2)."""
    matches = evaluate_event(event, match_automations(event))
    evaluations = [
        {
            "automation": m.automation.pk,
            "name": m.automation.name,
            "matched": m.verdict.matched,
            "reason": m.verdict.reason
            + (f" (and {len(m.later)} later row(s) of this batch)" if m.later else ""),
        }
        for m in matches
    ]
    with transaction.atomic():
        Event.objects.filter(pk=event.pk).update(
            evaluations=evaluations, processed_at=timezone.now()
        )
        return create_executions(event, matches)


def process_in_order(event: Event) -> list[Execution]:
    """Process ``event``; metric events of one run are processed in the order they were logged.

    Several workers may pick up a run's metric events at once. Windows slide over
    the run's history in step order and a metric automation fires once per run per
    24 hours, so the earlier event must decide first: the run's row is locked and
    any earlier unprocessed metric events of the run are processed before this one."""
    if event.type != METRIC_EVENT or event.project_id is None:
        return process(event)
    from projects.models import Run

    run_id = event.run_id
    created: list[Execution] = []
    with transaction.atomic():
        Run.objects.select_for_update().filter(project_id=event.project_id, run_id=run_id).first()
        pending = Event.objects.filter(
            project_id=event.project_id,
            type=METRIC_EVENT,
            processed_at__isnull=True,
            pk__lte=event.pk,
            data__run__id=run_id,
        ).order_by("pk")
        for earlier in pending.select_related("team", "project"):
            created += process(earlier)
    return created


# --- rendering ------------------------------------------------------------------------


def event_record(event: Event) -> dict[str, Any]:
    """The event as ``variables.event_variables`` and the full-event payload expect it."""
    scope = event.scope
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "author": event.author_name,
        "team": event.team.slug,
        "scope_name": scope.name if scope is not None else "",
        "url": event.absolute_url,
        "data": event.data,
    }


def describe_happening(event: Event) -> str:
    """What happened, in words."""
    data = event.data
    run = data.get("run") or {}
    artifact = data.get("artifact") or {}
    linked = data.get("linked") or {}
    if event.type == "RUN_STATE":
        return f"Run {run.get('name', '?')} is now {data.get('state', '?')}"
    if event.type == METRIC_EVENT:
        return f"Run {run.get('name', '?')} logged {', '.join(data.get('metrics') or [])}"
    if event.type == "CREATE_ARTIFACT":
        return f"New artifact version {artifact.get('ref', event.subject)}"
    if event.type == "LINK_ARTIFACT":
        return f"{artifact.get('ref', '?')} linked as {linked.get('ref', event.subject)}"
    if event.type == "ADD_ARTIFACT_ALIAS":
        ref = linked.get("ref") if linked else artifact.get("ref")
        return f"Alias {data.get('alias', '?')} added to {ref or event.subject}"
    if event.type == "UNLINK_ARTIFACT":
        return f"{linked.get('ref', event.subject)} unlinked ({artifact.get('ref', '?')})"
    if event.type in ("ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG"):
        ref = linked.get("ref") if linked else artifact.get("ref")
        verb = "added to" if event.type.startswith("ADD") else "removed from"
        return f"Tag {data.get('tag', '?')} {verb} {ref or event.subject}"
    if event.type in ("ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG"):
        ref = (data.get("collection_info") or {}).get("ref") or data.get("collection", "?")
        verb = "added to" if event.type.startswith("ADD") else "removed from"
        return f"Tag {data.get('tag', '?')} {verb} collection {ref}"
    return f"{event.type} {event.subject}"


def event_context(execution: Execution) -> EventContext:
    automation, event = execution.automation, execution.event
    values = (execution.match or {}).get("values") or {}
    what = describe_happening(event)
    if values.get("metric_filter"):
        what += f": {values.get('metric_filter')} (value {values.get('metric_value')}" \
                f" at step {values.get('metric_step')})"
    scope = event.scope
    where = f"{event.team.slug}/{scope.name}" if scope is not None else event.team.slug
    where += f" ({event.scope_type})"
    try:
        words = describe(automation.scope_type, automation.event_type, automation.filter)
    except (KeyError, ValueError):
        words = ""
    return EventContext(
        what=what, filter=words, where=where, who=event.author_name, url=event.absolute_url,
        automation_name=automation.name, event_type=automation.event_type,
    )


def variables_for(execution: Execution) -> dict[str, str]:
    from automations.variables import event_variables

    automation = execution.automation
    return event_variables(
        type=automation.event_type,
        scope=automation.scope_type,
        event=event_record(execution.event),
        automation_name=automation.name,
        verdict_values=(execution.match or {}).get("values") or {},
    )


def full_event(execution: Execution, variables: dict[str, str]) -> dict[str, Any]:
    """The webhook body when the payload template is empty: the whole event as JSON."""
    event, automation = execution.event, execution.automation
    return {
        **variables,
        "automation": {"id": automation.pk, "name": automation.name},
        "event": {
            "id": event.pk,
            "type": automation.event_type,
            "source": event.type,
            "created_at": event.created_at.isoformat(),
            "author": event.author_name,
            "subject": event.subject,
            "scope": {"type": event.scope_type, "name": event.scope.name if event.scope else ""},
            "data": event.data,
        },
        "match": {k: v for k, v in (execution.match or {}).items() if k != "matched"},
    }


def build_payload(execution: Execution) -> tuple[Any, dict[str, str]]:
    """The payload to send (secrets resolved) and the secrets to mask wherever it is kept."""
    action = action_for(execution.automation.integration)
    variables = variables_for(execution)
    payload = action.build(
        execution.automation.action_config, variables, event_context(execution),
        full_event(execution, variables),
    )
    return payload, action.secrets()


# --- delivery -----------------------------------------------------------------------


def claim(execution_id: int) -> bool:
    """Take a pending execution for delivery; False when another worker has it or it is
    not due. A conditional UPDATE checked by row count, so a duplicate task acts once."""
    now = timezone.now()
    due = now + timedelta(seconds=1)  # a retry scheduled for "now" may start a bit early
    return bool(
        Execution.objects.filter(pk=execution_id, status=Execution.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due))
        .update(claimed_until=now + CLAIM_FOR)
    )


def send_once(execution: Execution, *, retry: bool = True) -> DeliveryResult:
    """Render, send and record one attempt; updates the execution's status.

    Permanent errors and the last allowed attempt fail the execution; other
    failures leave it pending with ``next_attempt_at`` per
    ``settings.BEACON_RETRY_SCHEDULE`` (with ``retry=False`` they fail it)."""
    integration = execution.automation.integration
    action = action_for(integration)
    secrets: dict[str, str] = {}
    try:
        payload, secrets = build_payload(execution)
    except Exception as exc:  # a secret that cannot be decrypted, a broken template
        log.exception("execution %s: the payload could not be built", execution.pk)
        payload = None
        result = DeliveryResult(ok=False, error=f"The payload could not be built: {exc}",
                                permanent=True)
    else:
        execution.payload = mask_secrets(payload, secrets.values())
        result = action.send(payload, webhook_id=execution.webhook_id)
    return record_attempt(execution, result, secrets, retry=retry)


def record_attempt(
    execution: Execution, result: DeliveryResult, secrets: dict[str, str], *, retry: bool = True
) -> DeliveryResult:
    now = timezone.now()
    hidden = list(secrets.values())
    number = execution.attempt_count + 1
    error = mask_secrets(result.error, hidden)
    Attempt.objects.create(
        execution=execution,
        number=number,
        at=now,
        ok=result.ok,
        status_code=result.status,
        response_excerpt=excerpt(mask_secrets(result.response_excerpt, hidden)),
        duration_ms=max(0, result.duration_ms),
        error=error,
    )
    schedule = list(settings.BEACON_RETRY_SCHEDULE) or [0]
    execution.attempt_count = number
    execution.claimed_until = None
    execution.target = execution.automation.integration.target
    if result.ok:
        execution.status = Execution.Status.FINISHED
        execution.error = ""
        execution.next_attempt_at = None
        execution.finished_at = now
    elif result.permanent or not retry or number >= len(schedule):
        execution.status = Execution.Status.FAILED
        execution.error = error
        execution.next_attempt_at = None
        execution.finished_at = now
    else:
        execution.error = error
        execution.next_attempt_at = now + timedelta(seconds=schedule[number])
    execution.save(update_fields=[
        "payload", "status", "error", "attempt_count", "next_attempt_at", "claimed_until",
        "target", "finished_at",
    ])
    return result


def schedule_retry(execution: Execution) -> None:
    """Queue the next attempt at ``next_attempt_at`` (the sweep catches it too)."""
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(
        "automations.tasks.deliver",
        execution.pk,
        name=f"retry-{execution.pk}-{execution.attempt_count + 1}",
        schedule_type=Schedule.ONCE,
        repeats=-1,  # a ONCE schedule with negative repeats is deleted after it runs
        next_run=execution.next_attempt_at,
    )


def load_for_delivery(execution_id: int) -> Execution:
    """The execution with everything rendering and sending read, in one query."""
    return Execution.objects.select_related(
        "automation__integration__access_token_secret",
        "automation__integration__payload_secret",
        "automation__integration__webhook_url_secret",
        "automation__integration__bot_token_secret",
        "event__team", "event__project", "event__registry",
    ).get(pk=execution_id)


def deliver_execution(execution_id: int) -> Execution | None:
    """Claim and deliver one execution; None when it was not ours to deliver.

    A retry due within ``INLINE_RETRY_LIMIT`` seconds is made by this task after a
    short sleep; later ones are scheduled (and the sweep catches any that get lost)."""
    if not claim(execution_id):
        return None
    execution = load_for_delivery(execution_id)
    while True:
        send_once(execution)
        if execution.status != Execution.Status.PENDING or execution.next_attempt_at is None:
            return execution
        delay = (execution.next_attempt_at - timezone.now()).total_seconds()
        if delay > INLINE_RETRY_LIMIT:
            schedule_retry(execution)
            return execution
        time.sleep(max(0.0, delay))
        if not claim(execution_id):
            return execution  # another worker (the sweep's task) took it over
