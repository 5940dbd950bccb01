"""The pipeline after ``emit_event``: match → evaluate → create executions → deliver.

Each link is a named function with a contract:

- :func:`match_automations` — the enabled automations of the event's scope that
  listen to its type, in one indexed query;
- :func:`evaluate_event` — each automation's verdict (metric automations slide
  over the event's new points, reading only the history tail they need);
- :func:`create_executions` — one Execution per (automation, event) — per matching
  step for metric automations — at most once, with the 24-hour rule for metric
  automations; delivery queued on commit;
- :func:`deliver_execution` — claim, render, send, record the attempt (worker
  processes run deliveries on threads: :mod:`automations.runtime`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from automations import integration_health, noise, recording
from automations.actions import action_for
from automations.actions.base import DeliveryResult, EventContext, is_permanent_status
from automations.conditions import Verdict, evaluate, evaluate_metric, history_needed
from automations.emit import enqueue_or_log, queue_broker, queue_on_commit
from automations.events import PROJECT, describe, get_spec, source_types_to_specs
from automations.masking import masked_excerpt
from automations.models import Attempt, Automation, Event, Execution
from automations.templating import mask_secrets
from teams.models import Integration

log = logging.getLogger(__name__)

METRIC_EVENT = "RUN_METRIC"
FIRE_ONCE_PER = timedelta(hours=24)


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
    constraints ``execution_once_per_event`` / ``execution_once_per_step`` decide races).
    An execution that noise control holds back (:func:`automations.noise.skip_reason`:
    integration disabled, muted, throttled) is recorded ``skipped`` with the reason."""
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
                    execution = _create_execution(automation, event, verdict, run_id, step)
                    if execution is not None:
                        created.append(execution)
                        if execution.status != Execution.Status.SKIPPED:
                            previous = execution  # held back by noise control: not counted
                    continue
                skipped.append(_skipped(automation, event, verdict, run_id, step, previous))
            # One statement for a batch of later matches (a long run of rows may match).
            Execution.objects.bulk_create(skipped, batch_size=500, ignore_conflicts=True)
            created += skipped
    return created


def _create_execution(
    automation: Automation, event: Event, verdict: Verdict, run_id: str, step: int | None
) -> Execution | None:
    """A pending execution, its delivery queued on commit, or a ``skipped`` one when noise
    control holds it back; None when the event (or this step of it) already has one."""
    now = timezone.now()
    try:
        with transaction.atomic():
            reason = noise.skip_reason(automation, event, now)
            execution = Execution.objects.create(
                automation=automation,
                event=event,
                trigger=Execution.Trigger.EVENT,
                status=Execution.Status.SKIPPED if reason else Execution.Status.PENDING,
                error=reason,
                match={**verdict.as_json(), "run_id": run_id,
                       "throttle_key": noise.throttle_key(event)},
                match_step=step,
                target="" if reason else automation.integration.target,
                next_attempt_at=None if reason else now,
                finished_at=now if reason else None,
            )
    except IntegrityError:
        return None  # this event was processed before: it already acted
    if not reason:
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


def destination_busy(execution_id: int) -> bool:
    """Whether the execution's destination already has its share of deliveries in
    flight: the thread sending one of them claims the next one due when it ends
    (:meth:`automations.runtime.DeliveryRuntime._run`), a poller otherwise."""
    integration_id = (
        Execution.objects.filter(pk=execution_id)
        .values_list("automation__integration_id", flat=True).first()
    )
    if integration_id is None:
        return False
    return in_flight(integration_id, timezone.now()) >= settings.BEACON_DELIVERY_PER_DESTINATION


def enqueue_delivery(execution_id: int) -> None:
    """Start a new execution's delivery: in a worker process, on one of its own
    delivery threads (no queue round trip); otherwise, or when its threads are all
    busy, by queueing the ``deliver`` task, unless its destination is busy: a burst
    to one receiver then costs no task per execution, each ending delivery hands
    over to the next (a queued task would only find the destination full)."""
    from django_q.tasks import async_task

    if settings.BEACON_DELIVERY_THREADS > 0:
        from automations.runtime import running

        local = running()
        if local is not None and local.offer(execution_id) != "busy":
            return  # sending, or its destination's thread or a poller will take it
        if destination_busy(execution_id):
            return
    async_task("automations.tasks.deliver", execution_id, task_name=f"deliver-{execution_id}",
               save=False, broker=queue_broker())


def enqueue_delivery_on_commit(execution_id: int) -> None:
    queue_on_commit(enqueue_delivery, execution_id, "execution")


def evaluations_of(matches: list[Match]) -> list[dict[str, Any]]:
    """What the event's page shows of each automation's verdict."""
    return [
        {
            "automation": m.automation.pk,
            "name": m.automation.name,
            "matched": m.verdict.matched,
            "reason": m.verdict.reason
            + (f" (and {len(m.later)} later row(s) of this batch)" if m.later else ""),
        }
        for m in matches
    ]


def process(event: Event) -> list[Execution]:
    """Match, evaluate, record the evaluations, create executions (the whole step 2)."""
    matches = evaluate_event(event, match_automations(event))
    with transaction.atomic():
        Event.objects.filter(pk=event.pk).update(
            evaluations=evaluations_of(matches), processed_at=timezone.now()
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


def claim_events(event_ids: list[int], limit: int) -> list[Event]:
    """Call inside a transaction: up to ``limit`` unprocessed events that are not metric
    events, ``event_ids`` first, then the oldest others waiting, locked for this
    transaction (on PostgreSQL rows another worker holds are skipped; SQLite
    serialises writing transactions, so the second sees the first one's work)."""
    from django.db.models import Case, IntegerField, Value, When

    return list(
        Event.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(processed_at__isnull=True)
        .exclude(type=METRIC_EVENT)
        .select_related("team", "project", "registry")
        .annotate(asked=Case(When(pk__in=event_ids, then=Value(0)), default=Value(1),
                             output_field=IntegerField()))
        .order_by("asked", "pk")[:limit]
    )


def listening(events: list[Event]) -> dict[tuple[str, int | None, str], list[Automation]]:
    """:func:`match_automations` for a batch: one query per scope and event type, the
    integration of each automation read with it."""
    found: dict[tuple[str, int | None, str], list[Automation]] = {}
    for event in events:
        key = (event.scope_type, event.project_id or event.registry_id, event.type)
        if key in found:
            continue
        types = [str(spec.type) for spec in source_types_to_specs(event.scope_type, event.type)]
        scoped = (
            Q(project_id=event.project_id) if event.scope_type == PROJECT
            else Q(registry_id=event.registry_id)
        )
        found[key] = list(
            Automation.objects.filter(scoped, event_type__in=types, enabled=True)
            .select_related("integration").order_by("pk")
        ) if types else []
    return found


def process_batch(event_ids: list[int], limit: int | None = None) -> list[Execution]:
    """Process ``event_ids`` and other events waiting, up to ``limit`` (default
    ``BEACON_EVENT_BATCH``) in one transaction: one query per scope and type to
    match, one statement to mark the events processed, one to create their
    executions; the deliveries are handed on after commit, one per destination.

    Metric events are left to :func:`process_in_order` (their windows need each
    run's events in order). Automations with a throttle decide one execution at
    a time (:func:`_create_execution`), as each decision reads the one before."""
    limit = limit or settings.BEACON_EVENT_BATCH
    bulk: list[Execution] = []
    one_by_one: list[Execution] = []
    with transaction.atomic():
        events = claim_events(event_ids, max(limit, len(event_ids)))
        if not events:
            return []
        candidates = listening(events)
        now = timezone.now()
        for event in events:
            automations = [
                a for a in candidates[(event.scope_type, event.project_id or event.registry_id,
                                       event.type)]
                if a.created_at <= event.created_at
            ]
            matches = evaluate_event(event, automations)
            event.evaluations, event.processed_at = evaluations_of(matches), now
            for match in matches:
                if not match.verdict.matched:
                    continue
                automation = match.automation
                if automation.throttle_minutes or get_spec(
                    automation.scope_type, automation.event_type
                ).is_metric_event:
                    one_by_one += create_executions(event, [match])
                else:
                    bulk.append(new_execution(automation, event, match.verdict, now))
        Event.objects.bulk_update(events, ["evaluations", "processed_at"], batch_size=500)
        # The events are locked and were unprocessed: none of these exists yet.
        Execution.objects.bulk_create(bulk, batch_size=500)
        pending = [e for e in bulk if e.status == Execution.Status.PENDING]
        transaction.on_commit(lambda: hand_on(pending))
    return bulk + one_by_one


def new_execution(automation: Automation, event: Event, verdict: Verdict, now: Any) -> Execution:
    """An unsaved execution of a non-metric match: pending, or ``skipped`` when noise
    control (not a throttle: that reads the executions before it) holds it back."""
    reason = noise.integration_disabled(automation) or noise.muted(automation, now)
    return Execution(
        automation=automation,
        event=event,
        trigger=Execution.Trigger.EVENT,
        status=Execution.Status.SKIPPED if reason else Execution.Status.PENDING,
        error=reason,
        match={**verdict.as_json(), "run_id": event.run_id,
               "throttle_key": noise.throttle_key(event)},
        target="" if reason else automation.integration.target,
        next_attempt_at=None if reason else now,
        finished_at=now if reason else None,
        created_at=now,
    )


def hand_on(executions: list[Execution]) -> None:
    """Start delivering new pending executions: with delivery threads, the oldest of
    each destination (the thread that sends it claims the rest of the destination's
    due executions), otherwise each in its own task. A broker failure is logged:
    the pollers find due executions without a task."""
    if settings.BEACON_DELIVERY_THREADS > 0:
        first: dict[int, int] = {}
        for execution in executions:
            first.setdefault(execution.automation.integration_id, execution.pk)
        to_start = list(first.values())
    else:
        to_start = [execution.pk for execution in executions]
    for pk in to_start:
        enqueue_or_log(enqueue_delivery, pk, "execution", "a poller will deliver it")


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
#
# Bookkeeping is exactly-once, sending at-least-once. A delivery is claimed with a
# lease (``claimed_until``) a little longer than the longest send can take; the
# attempt and the execution's new state are written in one transaction, fenced on
# ``attempt_count`` so that a worker whose lease ran out cannot record over another.
# A worker killed between sending and recording leaves the execution claimed; when
# the lease runs out it is due again and is sent again, with the same ``webhook-id``.


def claim_lease() -> timedelta:
    """How long a claim holds: the longest a send can take (connect + read timeouts)
    plus ``BEACON_CLAIM_MARGIN`` seconds for rendering and recording."""
    return timedelta(seconds=(
        settings.BEACON_WEBHOOK_CONNECT_TIMEOUT + settings.BEACON_WEBHOOK_READ_TIMEOUT
        + settings.BEACON_CLAIM_MARGIN
    ))


def unclaimed(now: Any) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due_unclaimed(now: Any, due: Any = None) -> Q:
    """Pending executions whose attempt is due by ``due`` (default ``now``) and that no
    claim holds at ``now``."""
    return (
        Q(status=Execution.Status.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due or now))
        & unclaimed(now)
    )


def in_flight(integration_id: int, now: Any) -> int:
    """Claims of deliveries to ``integration_id`` that hold right now (by any worker):
    each is one thread sending its claimed executions one at a time."""
    return (
        Execution.objects.filter(
            status=Execution.Status.PENDING, claimed_until__gte=now,
            automation__integration_id=integration_id,
        ).values("claimed_by").distinct().count()
    )


def new_claim() -> str:
    return uuid.uuid4().hex


def claim(execution_id: int) -> bool:
    """Take a pending, due execution for delivery; False when another worker has it,
    it is not due, or its destination already has ``BEACON_DELIVERY_PER_DESTINATION``
    deliveries in flight. A conditional UPDATE checked by row count, so a duplicate
    task acts once."""
    now = timezone.now()
    due = now + timedelta(seconds=1)  # a retry scheduled for "now" may start a bit early
    integration_id = (
        Execution.objects.filter(pk=execution_id, status=Execution.Status.PENDING)
        .values_list("automation__integration_id", flat=True).first()
    )
    if integration_id is None:
        return False  # delivered meanwhile (a duplicate task) or gone
    with transaction.atomic():
        # Serialise the claims of one destination (SQLite serialises every write).
        Integration.objects.select_for_update().filter(pk=integration_id).first()
        if in_flight(integration_id, now) >= settings.BEACON_DELIVERY_PER_DESTINATION:
            return False
        return bool(
            Execution.objects.filter(due_unclaimed(now, due), pk=execution_id)
            .update(claimed_until=now + claim_lease(), claimed_by=new_claim())
        )


@dataclass
class Claim:
    """Due executions to one destination that one thread holds until ``until``."""

    token: str
    until: Any
    execution_ids: list[int]


def claim_batch(integration_id: int, limit: int | None = None) -> Claim | None:
    """Claim the oldest due deliveries to ``integration_id``, up to ``limit`` (default
    ``BEACON_DELIVERY_BATCH``); None when there are none or the destination already
    has its ``BEACON_DELIVERY_PER_DESTINATION`` claims in flight. The thread that just
    delivered to it goes on with these on the same connection, no queue or poller in
    between; a claim is one delivery in flight, as its thread sends one at a time."""
    now = timezone.now()
    with transaction.atomic():
        Integration.objects.select_for_update().filter(pk=integration_id).first()
        if in_flight(integration_id, now) >= settings.BEACON_DELIVERY_PER_DESTINATION:
            return None
        due = list(
            Execution.objects.filter(due_unclaimed(now),
                                     automation__integration_id=integration_id)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[: limit or settings.BEACON_DELIVERY_BATCH]
        )
        if not due:
            return None
        claim = Claim(new_claim(), now + claim_lease(), due)
        # The destination's lock serialises its claims: nobody else took these meanwhile.
        Execution.objects.filter(pk__in=due).update(claimed_until=claim.until,
                                                    claimed_by=claim.token)
    return claim


def renew(claim: Claim, execution_ids: list[int]) -> list[int]:
    """Extend ``claim`` over ``execution_ids`` (those it still has to send); returns
    the ones it still holds (a claim that ran out may have been taken over)."""
    now = timezone.now()
    until = now + claim_lease()
    held = Execution.objects.filter(
        pk__in=execution_ids, status=Execution.Status.PENDING, claimed_by=claim.token,
        claimed_until__gte=now,
    )
    if held.update(claimed_until=until) != len(execution_ids):
        execution_ids = list(
            Execution.objects.filter(pk__in=execution_ids, claimed_by=claim.token,
                                     claimed_until=until).values_list("pk", flat=True)
        )
    claim.until = until
    return execution_ids


def release_claim(claim: Claim, execution_ids: list[int]) -> None:
    """Give back what ``claim`` still holds (its thread is stopping): due at once again."""
    Execution.objects.filter(
        pk__in=execution_ids, status=Execution.Status.PENDING, claimed_by=claim.token
    ).update(claimed_until=None)


def release(execution_id: int) -> None:
    """Give a claim back without an attempt (the delivery could not be started)."""
    Execution.objects.filter(pk=execution_id, status=Execution.Status.PENDING).update(
        claimed_until=None
    )


def due_deliveries(limit: int) -> list[int]:
    """Up to ``limit`` pending executions that are due and unclaimed, oldest due first,
    leaving out destinations that already have their share of deliveries in flight."""
    now = timezone.now()
    full = [
        row["automation__integration_id"]
        for row in Execution.objects.filter(
            status=Execution.Status.PENDING, claimed_until__gte=now
        ).values("automation__integration_id").annotate(n=Count("claimed_by", distinct=True))
        if row["n"] >= settings.BEACON_DELIVERY_PER_DESTINATION
    ]
    return list(
        Execution.objects.filter(due_unclaimed(now))
        .exclude(automation__integration_id__in=full)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
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


def apply_outcome(
    execution: Execution, *, number: int, ok: bool, permanent: bool, error: str, at: Any,
    retry: bool = True,
) -> None:
    """Set the execution's state after its attempt ``number`` (not saved)."""
    schedule = list(settings.BEACON_RETRY_SCHEDULE) or [0]
    execution.attempt_count = number
    execution.claimed_until = None
    execution.target = execution.automation.integration.target
    if ok:
        execution.status = Execution.Status.FINISHED
        execution.error = ""
        execution.next_attempt_at = None
        execution.finished_at = at
    elif permanent or not retry or number >= len(schedule):
        execution.status = Execution.Status.FAILED
        execution.error = error
        execution.next_attempt_at = None
        execution.finished_at = at
    else:
        execution.error = error
        execution.next_attempt_at = at + timedelta(seconds=schedule[number])


OUTCOME_FIELDS = (
    "payload", "status", "error", "attempt_count", "next_attempt_at", "claimed_until",
    "target", "finished_at",
)


def record_attempt(
    execution: Execution, result: DeliveryResult, secrets: dict[str, str], *, retry: bool = True
) -> DeliveryResult:
    """Store the attempt and the execution's new state in one transaction.

    Fenced on ``attempt_count``: when another worker recorded this attempt number
    meanwhile (our lease ran out during a very slow send), nothing is written."""
    now = timezone.now()
    hidden = list(secrets.values())
    number = execution.attempt_count + 1
    error = masked_excerpt(result.error, hidden)
    apply_outcome(execution, number=number, ok=result.ok, permanent=result.permanent,
                  error=error, at=now, retry=retry)
    state = {name: getattr(execution, name) for name in OUTCOME_FIELDS}
    attempt = {
        "number": number, "at": now, "ok": result.ok, "status_code": result.status,
        "response_excerpt": masked_excerpt(result.response_excerpt, hidden),
        "duration_ms": max(0, result.duration_ms), "error": error,
    }
    # A success on PostgreSQL: one statement (nothing to note on the integration
    # unless it was failing); otherwise one transaction.
    one_statement = (result.ok and recording.supported()
                     and not transaction.get_connection().in_atomic_block)
    if one_statement:
        recorded = recording.record(execution.pk, number - 1, state, attempt)
    else:
        with transaction.atomic():
            recorded = bool(Execution.objects.filter(
                pk=execution.pk, status=Execution.Status.PENDING, attempt_count=number - 1
            ).update(**state))
            if recorded:
                Attempt.objects.create(execution=execution, **attempt)
                integration_health.note_outcome(execution.automation.integration, result)
    if not recorded:
        log.warning("execution %s: attempt %s was recorded by another worker; this "
                    "send was a duplicate", execution.pk, number)
    elif one_statement:
        integration_health.note_outcome(execution.automation.integration, result)
    return result


def reconcile(execution: Execution) -> bool:
    """Bring an execution up to date with an attempt stored but never applied to it
    (written by a version that did not record both in one transaction); True when
    there was one. Its outcome decides, so the message is not sent forever."""
    orphan = (
        Attempt.objects.filter(execution_id=execution.pk, number__gt=execution.attempt_count)
        .order_by("-number").first()
    )
    if orphan is None:
        return False
    apply_outcome(
        execution, number=orphan.number, ok=orphan.ok, error=orphan.error, at=orphan.at,
        permanent=orphan.status_code is not None and is_permanent_status(orphan.status_code),
        retry=execution.trigger != Execution.Trigger.TEST,
    )
    Execution.objects.filter(pk=execution.pk, attempt_count__lt=orphan.number).update(
        **{name: getattr(execution, name) for name in OUTCOME_FIELDS if name != "payload"}
    )
    log.warning("execution %s: reconciled with its stored attempt %s", execution.pk,
                orphan.number)
    return True


def reconcile_all(limit: int = 500) -> int:
    """Reconcile every pending execution that has an attempt it never recorded."""
    stuck = (
        Execution.objects.filter(status=Execution.Status.PENDING,
                                 attempts__number__gt=F("attempt_count"))
        .distinct().select_related("automation__integration")[:limit]
    )
    return sum(reconcile(execution) for execution in stuck)


def load_for_delivery(execution_id: int) -> Execution:
    """The execution with everything rendering and sending read, in one query."""
    return Execution.objects.select_related(
        "automation__integration__access_token_secret",
        "automation__integration__payload_secret",
        "automation__integration__webhook_url_secret",
        "automation__integration__bot_token_secret",
        "event__team", "event__project", "event__registry",
    ).get(pk=execution_id)


def deliver_claimed(execution_id: int) -> Execution:
    """One attempt of an execution this worker has claimed (reconciled first)."""
    execution = load_for_delivery(execution_id)
    if not reconcile(execution):
        send_once(execution)
    return execution


def load_batch(claim: Claim, integration_id: int) -> list[Execution]:
    """A claim's executions with what rendering and sending read: the executions with
    their events in one query; the destination with its secrets, and the automations,
    teams, projects and registries they share, once each (a burst has few of them)."""
    from projects.models import Project
    from registries.models import Registry
    from teams.models import Team

    integration = Integration.objects.select_related(
        "access_token_secret", "payload_secret", "webhook_url_secret", "bot_token_secret",
    ).get(pk=integration_id)
    executions = list(
        Execution.objects.filter(pk__in=claim.execution_ids)
        .select_related("event")
        .defer("payload", "event__evaluations")
        .order_by("next_attempt_at", "pk")
    )
    events = [execution.event for execution in executions]
    automations = Automation.objects.in_bulk({e.automation_id for e in executions})
    teams = Team.objects.in_bulk({event.team_id for event in events})
    projects = Project.objects.in_bulk({e.project_id for e in events if e.project_id})
    registries = Registry.objects.in_bulk({e.registry_id for e in events if e.registry_id})
    for automation in automations.values():
        automation.integration = integration
    for execution in executions:
        execution.automation = automations[execution.automation_id]
        event = execution.event
        event.team = teams[event.team_id]
        event.project = projects.get(event.project_id) if event.project_id else None
        event.registry = registries.get(event.registry_id) if event.registry_id else None
    return executions


def unrecorded(executions: list[Execution]) -> set[int]:
    """Those of ``executions`` with an attempt stored that they never recorded."""
    from django.db.models import Max

    counts = {e.pk: e.attempt_count for e in executions}
    return {
        row["execution_id"]
        for row in Attempt.objects.filter(execution_id__in=counts)
        .values("execution_id").annotate(top=Max("number"))
        if row["top"] > counts[row["execution_id"]]
    }


def deliver_claim(claim: Claim, integration_id: int, stopping: Any = None) -> int:
    """Send a claim's executions one at a time, each attempt recorded before the next
    send (a worker killed mid-claim re-sends at most the one in flight). The claim is
    renewed before a send that could outlast it; ``stopping`` (a threading.Event) set
    gives the rest back. Returns how many attempts were made."""
    executions = load_batch(claim, integration_id)
    orphans = unrecorded(executions)
    remaining = [e.pk for e in executions]
    longest_send = timedelta(seconds=settings.BEACON_WEBHOOK_CONNECT_TIMEOUT
                             + settings.BEACON_WEBHOOK_READ_TIMEOUT + 1)
    sent = 0
    for execution in executions:
        if stopping is not None and stopping.is_set():
            release_claim(claim, remaining)
            break
        if timezone.now() + longest_send > claim.until:
            remaining = renew(claim, remaining)
        if execution.pk not in remaining:
            continue  # taken over after the claim ran out: its new claimer sends it
        remaining.remove(execution.pk)
        if execution.pk in orphans and reconcile(execution):
            continue
        send_once(execution)
        sent += 1
    return sent


def deliver_execution(execution_id: int) -> Execution | None:
    """Claim and make one attempt now, in this thread; None when it was not ours.

    A failed attempt leaves the execution pending with ``next_attempt_at``: a
    worker's poller (:mod:`automations.runtime`) makes the retry when it is due."""
    if not claim(execution_id):
        return None
    return deliver_claimed(execution_id)
