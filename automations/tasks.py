"""django-q2 entry points. Tasks take primary keys and reload state.

- ``process_event(event_id)``: match, evaluate, create executions (queued on emit),
  for this event and the others waiting (:func:`automations.dispatch.process_batch`);
- ``deliver(execution_id)``: start one delivery attempt of a pending execution on
  this worker's delivery threads (:mod:`automations.runtime`);
- ``sweep()``: every minute, a backstop: reconcile executions with attempts they
  never recorded and re-queue events whose processing was lost. Deliveries need no
  re-queueing: every worker's poller claims what is due or whose claim ran out.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from automations import dispatch
from automations.emit import enqueue_event
from automations.models import Event

log = logging.getLogger(__name__)

# An event not processed this long after it was stored was lost on the way (a
# killed worker, a flushed broker) when an event queued after it was processed
# ``OVERTAKEN_FOR`` ago (the queue is first in, first out) or nothing waits in the
# queue; while the queue is busy it may only be waiting its turn, and is re-queued
# after ``EVENT_LOST_AFTER`` anyway. Processing an event twice acts once.
EVENT_STALE_AFTER = timedelta(seconds=20)
OVERTAKEN_FOR = timedelta(seconds=10)
EVENT_LOST_AFTER = timedelta(seconds=90)
SWEEP_BATCH = 500


def process_event(event_id: int) -> int:
    """Process an event, with the other events waiting when it is not a metric event
    (a burst is processed in batches by the first tasks; the later ones find their
    event done). Returns the number of executions created (0 when done before)."""
    found = Event.objects.filter(pk=event_id).values_list("processed_at", "type").first()
    if found is None:
        log.info("event %s is gone", event_id)
        return 0
    processed_at, type = found
    if processed_at is not None:
        return 0  # a re-queued event, or one a batch processed meanwhile
    if type == dispatch.METRIC_EVENT:
        event = Event.objects.select_related("team", "project", "registry").get(pk=event_id)
        return len(dispatch.process_in_order(event))
    return len(dispatch.process_batch([event_id]))


def process_events(event_ids: list[int]) -> int:
    """Process the events of one transaction (queued together on commit), with the
    others waiting; returns the number of executions created."""
    found = dict(
        Event.objects.filter(pk__in=event_ids, processed_at__isnull=True)
        .values_list("pk", "type")
    )
    created = sum(process_event(pk) for pk, type in found.items()
                  if type == dispatch.METRIC_EVENT)
    others = [pk for pk, type in found.items() if type != dispatch.METRIC_EVENT]
    if others:
        created += len(dispatch.process_batch(others))
    return created


def deliver(execution_id: int) -> str:
    """Start delivering a pending execution: ``"sending"`` on one of this worker's
    delivery threads, or why not (``"not claimed"``, ``"busy"``: a poller takes it).

    With ``BEACON_DELIVERY_THREADS = 0`` the attempt is made in this task and its
    resulting status is returned."""
    if settings.BEACON_DELIVERY_THREADS <= 0:
        execution = dispatch.deliver_execution(execution_id)
        return execution.status if execution is not None else "not claimed"
    from automations.runtime import runtime

    return runtime().offer(execution_id)


def queue_busy() -> bool:
    """Whether tasks are waiting in this cluster's queue."""
    from django_q.brokers import get_broker

    return bool(get_broker().queue_size())


def requeue_lost_events() -> int:
    """Re-queue events whose processing was lost; returns how many."""
    now = timezone.now()
    unprocessed = Event.objects.filter(processed_at__isnull=True).order_by("pk")
    stale = unprocessed.filter(created_at__lt=now - EVENT_STALE_AFTER)
    if not stale.exists():
        return 0
    if queue_busy():
        overtaken_by = (
            Event.objects.filter(processed_at__lt=now - OVERTAKEN_FOR)
            .order_by("-pk").values_list("pk", flat=True).first()
        )
        stale = unprocessed.filter(
            Q(created_at__lt=now - EVENT_LOST_AFTER)
            | Q(created_at__lt=now - EVENT_STALE_AFTER, pk__lt=overtaken_by or 0)
        )
    lost = list(stale.values_list("pk", flat=True)[:SWEEP_BATCH])
    for pk in lost:
        enqueue_event(pk)
    if lost:
        log.warning("re-queued %s event(s) whose processing was lost", len(lost))
    return len(lost)


def process_lost_events() -> int:
    """In a worker's delivery poller: process the events left unprocessed for
    ``EVENT_STALE_AFTER``, here rather than through the queue, which may be what lost
    them (a worker SIGKILLed while waiting for a task leaves the queue locked until
    the sentinel's guard frees it, :mod:`automations.queue_locks`). Processing an
    event twice acts once (an event waiting its turn in a busy queue is found done by
    its task). Returns the number of events taken."""
    stale = list(
        Event.objects.filter(processed_at__isnull=True,
                             created_at__lt=timezone.now() - EVENT_STALE_AFTER)
        .order_by("pk").values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if stale:
        log.warning("processing %s event(s) left unprocessed for %ss", len(stale),
                    int(EVENT_STALE_AFTER.total_seconds()))
        process_events(stale)
    return len(stale)


def sweep() -> dict[str, int]:
    """Reconcile unrecorded attempts, re-queue lost events, make sure this worker's
    delivery poller runs."""
    if settings.BEACON_DELIVERY_THREADS > 0:
        from automations.runtime import runtime

        runtime()
    return {"reconciled": dispatch.reconcile_all(), "events": requeue_lost_events()}
