"""Factories for automations, integrations, secrets and events (plain functions, no ORM magic)."""

from __future__ import annotations

from typing import Any

from automations.events import validate_filter
from automations.models import Automation, Event, Execution, Scope
from projects.models import Project, Run
from registries.models import Registry
from teams.models import Integration, Secret, Team


def make_secret(team: Team, name: str, value: str) -> Secret:
    return Secret.objects.create(team=team, name=name, value=value)


def make_webhook(
    team: Team,
    url: str = "https://hooks.example.com/beacon",
    *,
    name: str = "deploy",
    access_token: str | None = None,
    payload_secret: tuple[str, str] | None = None,
) -> Integration:
    return Integration.objects.create(
        team=team,
        kind=Integration.Kind.WEBHOOK,
        name=name,
        url=url,
        access_token_secret=make_secret(team, f"{name.upper()}_TOKEN", access_token)
        if access_token else None,
        payload_secret=make_secret(team, *payload_secret) if payload_secret else None,
    )


def make_slack(
    team: Team,
    *,
    name: str = "alerts",
    webhook_url: str | None = None,
    bot_token: str | None = None,
    channel_id: str = "C0123",
) -> Integration:
    return Integration.objects.create(
        team=team,
        kind=Integration.Kind.SLACK,
        name=name,
        workspace="acme",
        channel="#ml-alerts",
        channel_id=channel_id if bot_token else "",
        webhook_url_secret=make_secret(team, f"{name.upper()}_URL", webhook_url)
        if webhook_url else None,
        bot_token_secret=make_secret(team, f"{name.upper()}_TOKEN", bot_token)
        if bot_token else None,
    )


def make_automation(
    scope: Project | Registry,
    integration: Integration,
    *,
    event_type: str,
    filter: dict[str, Any] | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    enabled: bool = True,
) -> Automation:
    is_project = isinstance(scope, Project)
    action = (
        Automation.ActionType.WEBHOOK if integration.kind == Integration.Kind.WEBHOOK
        else Automation.ActionType.SLACK_NOTIFICATION
    )
    return Automation.objects.create(
        team=scope.team,
        name=name or f"{event_type.lower()}-{Automation.objects.count() + 1}",
        scope_type=Scope.PROJECT if is_project else Scope.REGISTRY,
        project=scope if is_project else None,
        registry=None if is_project else scope,
        event_type=event_type,
        filter=validate_filter("project" if is_project else "registry", event_type, filter or {}),
        action_type=action,
        integration=integration,
        action_config=config or {},
        enabled=enabled,
    )


def fail_run(project: Project, user: Any, run_id: str = "sweep-1") -> Event:
    """Start a run and fail it; returns the RUN_STATE event that emitted."""
    run = Run.start(project, author=user, run_id=run_id)
    run.set_state("failed", user)
    return Event.objects.filter(type="RUN_STATE").order_by("-id").first()


def fired_loss_threshold(run: Run, *, threshold: float, step: int, url: str) -> Execution:
    """A ``loss-high`` automation on the run's project (``avg(loss, 5) > threshold``)
    and a finished execution of it that fired at ``step``: what run charts mark."""
    project = run.project
    hook = Integration.objects.create(team=project.team, kind="webhook", name="h", url=url)
    automation = Automation.objects.create(
        team=project.team, name="loss-high", scope_type="project", project=project,
        event_type="RUN_METRIC_THRESHOLD", action_type="WEBHOOK", integration=hook,
        filter={"metric": "loss", "window": 5, "agg": "avg", "cmp": "gt", "threshold": threshold},
    )
    event = Event.objects.create(team=project.team, type="RUN_METRIC", scope_type="project",
                                 project=project, subject=run.ref,
                                 data={"run": {"id": run.run_id}})
    return Execution.objects.create(automation=automation, event=event, status="finished",
                                    trigger="event", match={"values": {"metric_step": step}})
