"""django-q2 entry points. Tasks take primary keys and reload state.

- ``process_event(event_id)``: match, evaluate, create executions (queued on emit);
- ``deliver(execution_id)``: one delivery attempt of a pending execution;
- ``sweep()``: every minute, re-queue what is due or stale, so nothing is lost
  when a worker, the broker or a receiver dies.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from automations import dispatch
from automations.emit import enqueue_event
from automations.models import Event, Execution

log = logging.getLogger(__name__)

# Events not processed this long after they were stored were lost on the way.
EVENT_STALE_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 500
# Fresh deliveries are on their way already; the sweep is for the ones that got lost.
SWEEP_GRACE = timedelta(seconds=30)


def process_event(event_id: int) -> int:
    """Process one event; returns the number of executions created (0 when done before)."""
    event = Event.objects.select_related("team", "project", "registry").filter(pk=event_id).first()
    if event is None:
        log.info("event %s is gone", event_id)
        return 0
    return len(dispatch.process_in_order(event))


def deliver(execution_id: int) -> str:
    """Deliver one pending execution once; returns its status (or ``"not claimed"``)."""
    execution = dispatch.deliver_execution(execution_id)
    return execution.status if execution is not None else "not claimed"


def sweep() -> dict[str, int]:
    """Re-queue due or stale deliveries and events whose processing was lost."""
    now = timezone.now()
    due = list(
        Execution.objects.filter(status=Execution.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now - SWEEP_GRACE))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in due:
        dispatch.enqueue_delivery(pk)
    lost = list(
        Event.objects.filter(processed_at__isnull=True, created_at__lt=now - EVENT_STALE_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in lost:
        enqueue_event(pk)
    return {"deliveries": len(due), "events": len(lost)}
