"""The first link of the pipeline: record an event and queue its processing on commit."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from automations.models import Event, Scope

if TYPE_CHECKING:
    from django_q.brokers import Broker

    from projects.models import Project
    from registries.models import Registry

log = logging.getLogger(__name__)


def emit_event(
    type: str,
    scope: Project | Registry,
    *,
    subject: str,
    subject_url: str = "",
    author: Any = None,
    data: dict[str, Any],
) -> Event:
    """Store an Event in the caller's transaction and queue ``process_event`` with it.

    A request that fails and rolls back leaves neither the change nor the event,
    and queues nothing (:func:`queue_event`).
    """
    from projects.models import Project

    is_project = isinstance(scope, Project)
    event = Event.objects.create(
        team_id=scope.team_id,
        type=type,
        scope_type=Scope.PROJECT if is_project else Scope.REGISTRY,
        project=scope if is_project else None,
        registry=None if is_project else scope,
        subject=subject,
        subject_url=subject_url,
        author=author if getattr(author, "is_authenticated", False) else None,
        author_name=getattr(author, "username", "") or "",
        data=data,
    )
    queue_event(event.pk)
    return event


def broker_in_database() -> bool:
    """Whether the queue is django-q's ORM broker on the default database (the
    embedded default), so a task queued in a transaction commits with it."""
    from django_q.conf import Conf

    return Conf.ORM == "default"


class EventBatch:
    """The events of one transaction whose processing is queued when it commits."""

    def __init__(self) -> None:
        self.pks: list[int] = []
        self.queued = False

    def __call__(self) -> None:
        """Queue the batch: one task per ``BEACON_EVENT_BATCH`` events."""
        self.queued = True
        size = max(1, settings.BEACON_EVENT_BATCH)
        for start in range(0, len(self.pks), size):
            chunk = self.pks[start:start + size]
            if len(chunk) == 1:
                enqueue_or_log(enqueue_event, chunk[0], "event")
            else:
                enqueue_or_log(enqueue_events, chunk, "events")


def current_batch(connection: Any) -> EventBatch | None:
    """The batch of the connection's open transaction (None when it has none yet: a
    batch registered in a savepoint that rolled back is gone from its commit hooks,
    and one that was queued belongs to a transaction that committed)."""
    batch = getattr(connection, "beacon_event_batch", None)
    if batch is None or batch.queued or not any(
        hook is batch for _, hook, *_ in connection.run_on_commit
    ):
        return None
    return batch


def queue_event(pk: int) -> None:
    """Queue the event's processing so that it exists exactly when the event does.

    The events of one transaction are queued together when it commits, one task
    per ``BEACON_EVENT_BATCH`` (a burst is processed in batches). On the ORM broker
    the first event's task is written in the transaction itself: it commits with
    the event, or rolls back with it, at no second commit (on SQLite a commit is the
    dear part of a small write, such as one history post)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        queue_on_commit(enqueue_event, pk, "event")  # committed already: at once
        return
    batch = current_batch(connection)
    if batch is not None:
        batch.pks.append(pk)
        return
    batch = EventBatch()
    if broker_in_database():
        enqueue_event(pk)
    else:
        batch.pks.append(pk)
    connection.beacon_event_batch = batch
    transaction.on_commit(batch)


def queue_on_commit(enqueue: Callable[[int], None], pk: int, what: str) -> None:
    """Call ``enqueue(pk)`` after the caller's transaction commits; a broker that
    fails then (Redis down) is logged, not raised. The row is saved and the
    request answers success; the row stays unprocessed / pending, so the sweep
    (``automations.tasks.sweep``) queues it once the broker is back."""
    transaction.on_commit(lambda: enqueue_or_log(enqueue, pk, what))


def enqueue_or_log(
    enqueue: Callable[[Any], None], arg: Any, what: str,
    then: str = "the sweep will queue it later",
) -> None:
    """``enqueue(arg)``; a broker that fails (Redis down) is logged, not raised: the
    saved write must still succeed, and what it saved is found again ``then``."""
    try:
        enqueue(arg)
    except Exception as exc:  # any broker failure
        log.warning("could not queue %s %s (%s: %s); %s",
                    what, arg, type(exc).__name__, exc, then)


def queue_broker() -> Broker:
    """This process's django-q broker for the current queue, made once. Left to
    itself, ``async_task`` makes a new one per task: for Redis a new client, pool
    and TCP connection, about 2 ms of every history post."""
    from django_q.conf import Conf

    return _broker(Conf.CLUSTER_NAME)


@functools.lru_cache(maxsize=16)
def _broker(queue: str) -> Broker:
    from django_q.brokers import get_broker

    return get_broker(queue)


def enqueue_events(event_ids: list[int]) -> None:
    from django_q.tasks import async_task

    async_task("automations.tasks.process_events", event_ids,
               task_name=f"events-{event_ids[0]}-{event_ids[-1]}", save=False,
               broker=queue_broker())


def enqueue_event(event_id: int) -> None:
    from django_q.tasks import async_task

    # save=False: a successful task leaves no result row (the event records its own
    # processing); saving one costs the cluster's monitor a locked scan of up to
    # ``save_limit`` results per task. Failed tasks are still saved.
    async_task("automations.tasks.process_event", event_id, task_name=f"event-{event_id}",
               save=False, broker=queue_broker())
