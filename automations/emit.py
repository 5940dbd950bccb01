"""The first link of the pipeline: record an event and queue its processing on commit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction

from automations.models import Event, Scope

if TYPE_CHECKING:
    from projects.models import Project
    from registries.models import Registry


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
    transaction.on_commit(lambda: enqueue_event(event.pk))
    return event


def enqueue_event(event_id: int) -> None:
    from django_q.tasks import async_task

    async_task("automations.tasks.process_event", event_id, task_name=f"event-{event_id}")
