"""The first link of the pipeline: record an event and queue its processing on commit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction

from automations.models import Event, Scope

if TYPE_CHECKING:
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
    """Store an Event in the caller's transaction; queue ``process_event`` after commit.

    A request that fails and rolls back leaves neither the change nor the event,
    and queues nothing.
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
    queue_on_commit(enqueue_event, event.pk, "event")
    return event


def queue_on_commit(enqueue: Callable[[int], None], pk: int, what: str) -> None:
    """Call ``enqueue(pk)`` after the caller's transaction commits; a broker that
    fails then (Redis down) is logged, not raised. The row is saved and the
    request answers success; the row stays unprocessed / pending, so the sweep
    (``automations.tasks.sweep``) queues it once the broker is back."""

    def enqueue_or_log() -> None:
        try:
            enqueue(pk)
        except Exception as exc:  # any broker failure: the saved write must still succeed
            log.warning(
                "could not queue %s %s (%s: %s); the sweep will queue it later",
                what, pk, type(exc).__name__, exc,
            )

    transaction.on_commit(enqueue_or_log)


def enqueue_event(event_id: int) -> None:
    from django_q.tasks import async_task

    # save=False: a successful task leaves no result row (the event records its own
    # processing); saving one costs the cluster's monitor a locked scan of up to
    # ``save_limit`` results per task. Failed tasks are still saved.
    async_task("automations.tasks.process_event", event_id, task_name=f"event-{event_id}",
               save=False)
