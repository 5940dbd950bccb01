"""A preview of what an automation would send, rendered against the latest real event
of its scope and type (or a sample). Secrets are never read: their variables render as
the mask, so a preview cannot reveal them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from automations import conditions, events, templating, variables
from automations.models import Automation, Event, Scope
from projects.models import MetricPoint, Project
from registries.models import Registry
from teams.models import Integration

MASK = templating.DEFAULT_MASK
# Values of a sample metric history, so metric variables have something to show.
SAMPLE_METRIC_VALUES = [0.92, 0.81, 0.77, 0.74, 0.71, 0.69, 0.7, 0.66, 0.64, 0.63, 0.61, 0.6]


@dataclass
class Preview:
    source: str
    event: Event | None
    rendered: Any = None
    errors: list[str] = field(default_factory=list)
    variables: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return json.dumps(self.rendered, indent=2, ensure_ascii=False)


def latest_event(scope: Project | Registry, spec: events.EventSpec) -> Event | None:
    lookup = "project" if isinstance(scope, Project) else "registry"
    return (
        Event.objects.filter(**{lookup: scope, "type": spec.source})
        .order_by("-created_at", "-id")
        .first()
    )


def event_dict(scope: Project | Registry, scope_type: str, spec: events.EventSpec,
               event: Event | None) -> dict[str, Any]:
    """The plain event ``variables.event_variables`` expects, from a row or a sample."""
    team = scope.team.slug
    if event is None:
        data = events.sample_data(
            scope_type, spec.type, team=team, scope_name=scope.name,
            base_url=settings.BEACON_BASE_URL,
        )
        return {"id": "sample", "created_at": timezone.now().isoformat(),
                "author": "beacon-sample", "team": team, "scope_name": scope.name,
                "url": settings.BEACON_BASE_URL + scope.get_absolute_url(), "data": data}
    return {"id": event.pk, "created_at": event.created_at.isoformat(),
            "author": event.author_name, "team": team, "scope_name": scope.name,
            "url": settings.BEACON_BASE_URL + (event.subject_url or scope.get_absolute_url()),
            "data": event.data}


def metric_values(spec: events.EventSpec, filter: dict[str, Any], event: Event | None,
                  data: dict[str, Any]) -> dict[str, Any]:
    """The metric verdict's values for the preview: the real tail of the run's
    history when there is an event, the sample history otherwise."""
    if not spec.is_metric_event or not filter.get("metric"):
        return {}
    try:
        needed = conditions.history_needed(spec.type, filter)
    except (KeyError, TypeError, ValueError):
        return {}
    step = data.get("last_step") or 0
    values: list[float] = SAMPLE_METRIC_VALUES[-needed:]
    if event is not None and event.project_id:
        run_id = (data.get("run") or {}).get("id")
        points = list(
            MetricPoint.objects.filter(
                run__project_id=event.project_id, run__run_id=run_id,
                key=filter["metric"], step__lte=step,
            ).order_by("-step", "-id")[:needed]
        )
        values = [p.as_float for p in reversed(points)]
    try:
        return conditions.evaluate_metric(spec.type, filter, values, step).values
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return {}


def slack_message(
    scope: Project | Registry, scope_type: str, spec: events.EventSpec, filter: dict[str, Any],
    as_event: dict[str, Any], values: dict[str, str], *, severity: str, title: str,
    message: str, automation_name: str,
) -> dict[str, Any]:
    """The Block Kit message the Slack action would post, exactly as it is built."""
    from automations.actions.base import EventContext
    from automations.actions.slack import build_message

    what = spec.label
    if values.get("metric_filter"):
        what += f": {values['metric_filter']} (value {values.get('metric_value')}" \
                f" at step {values.get('metric_step')})"
    try:
        words = events.describe(scope_type, spec.type, filter)
    except (KeyError, ValueError, TypeError):
        words = ""
    context = EventContext(
        what=what, filter=words, where=f"{scope.team.slug}/{scope.name} ({scope_type})",
        who=str(as_event.get("author") or ""), url=str(as_event.get("url") or ""),
        automation_name=automation_name, event_type=spec.type,
    )
    return build_message(
        severity=severity, title=templating.render_text(title, values),
        message=templating.render_text(message, values), context=context,
    )


def build_preview(
    *,
    scope: Project | Registry,
    event_type: str,
    filter: dict[str, Any],
    action_type: str,
    integration: Integration | None,
    title: str = "",
    message: str = "",
    severity: str = "INFO",
    payload_text: str = "",
    automation_name: str = "",
) -> Preview:
    scope_type = Scope.PROJECT if isinstance(scope, Project) else Scope.REGISTRY
    spec = events.get_spec(scope_type, event_type)
    webhook = action_type == Automation.ActionType.WEBHOOK
    secret_name = None
    has_token = False
    if webhook and integration is not None:
        secret_name = integration.payload_secret.name if integration.payload_secret_id else None
        has_token = bool(integration.access_token_secret_id)
    allowed = variables.allowed_variables(
        scope_type, spec.type, payload_secret_name=secret_name, has_access_token=has_token
    )
    event = latest_event(scope, spec)
    source = f"the latest {spec.source} event (#{event.pk})" if event else "a sample event"
    preview = Preview(source=source, event=event, variables=allowed)
    as_event = event_dict(scope, scope_type, spec, event)
    values = variables.event_variables(
        type=spec.type, scope=scope_type, event=as_event,
        automation_name=automation_name or "my-automation",
        verdict_values=metric_values(spec, filter, event, as_event["data"]),
    )
    if has_token:
        values[variables.ACCESS_TOKEN] = MASK
    if secret_name:
        values[secret_name] = MASK
    if not webhook:
        for text in (title, message):
            preview.errors += templating.validate(text or "", allowed)
        preview.rendered = slack_message(
            scope, scope_type, spec, filter, as_event, values,
            severity=severity, title=title, message=message,
            automation_name=automation_name or "my-automation",
        )
        return preview
    if not payload_text.strip():
        preview.rendered = as_event
        return preview
    try:
        template = json.loads(payload_text)
    except json.JSONDecodeError as exc:
        preview.errors.append(f"Not valid JSON yet: {exc.msg} (line {exc.lineno}).")
        return preview
    preview.errors += templating.validate(template, allowed)
    preview.rendered = templating.render(template, values)
    return preview
