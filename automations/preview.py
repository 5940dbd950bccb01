"""A preview of what an automation would send, rendered against the latest real event
of its scope and type (or a sample). Secrets are never read: their variables render as
the mask, so a preview cannot reveal them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from automations import conditions, dispatch, events, templating, variables
from automations.actions.slack import build_message
from automations.models import Automation, Event, Execution, Scope
from projects.models import ArtifactVersion, MetricPoint, Project
from registries.models import LinkedVersion, Registry
from teams.models import Integration

MASK = templating.DEFAULT_MASK
# Values of a sample metric history, so metric variables have something to show.
SAMPLE_METRIC_VALUES = [0.92, 0.81, 0.77, 0.74, 0.71, 0.69, 0.7, 0.66, 0.64, 0.63, 0.61, 0.6]


def sample_series(count: int) -> list[float]:
    """A made-up loss curve of ``count`` values ending in ``SAMPLE_METRIC_VALUES``, so a
    preview's window is always full (a window is judged only when full)."""
    head = max(0, count - len(SAMPLE_METRIC_VALUES))
    start = [round(1.0 + 0.002 * (head - i) + 0.01 * (i % 3), 4) for i in range(head)]
    return (start + SAMPLE_METRIC_VALUES)[-count:] if count > 0 else []


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
        .select_related("team", "project", "registry")
        .order_by("-created_at", "-id")
        .first()
    )


def scope_fields(scope: Project | Registry) -> dict[str, Any]:
    project = isinstance(scope, Project)
    return {
        "scope_type": Scope.PROJECT if project else Scope.REGISTRY,
        "project": scope if project else None,
        "registry": None if project else scope,
    }


def sample_event(scope: Project | Registry, spec: events.EventSpec) -> Event:
    """A made-up event of ``spec`` in ``scope``, not stored."""
    fields = scope_fields(scope)
    data = events.sample_data(
        fields["scope_type"], spec.type, team=scope.team.slug, scope_name=scope.name,
        base_url=settings.BEACON_BASE_URL,
    )
    return Event(
        team=scope.team, type=spec.source, subject="sample",
        subject_url=scope.get_absolute_url(), author_name="beacon-sample", data=data,
        sample=True, created_at=timezone.now(), **fields,
    )


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
    values: list[float] = sample_series(needed)
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


def latest_metadata(scope: Project | Registry) -> dict[str, Any] | None:
    """The metadata of the scope's newest artifact version (a registry: of the newest
    linked version's source); None when the scope has none."""
    if isinstance(scope, Project):
        version = (
            ArtifactVersion.objects.filter(artifact__project=scope)
            .order_by("-created_at", "-id").only("metadata").first()
        )
        return None if version is None else version.metadata
    linked = (
        LinkedVersion.objects.filter(collection__registry=scope)
        .select_related("source").order_by("-created_at", "-id").first()
    )
    return None if linked is None else linked.source.metadata


def metadata_variables(scope: Project | Registry, data: dict[str, Any]) -> list[str]:
    """``artifact_metadata.KEY`` for each top-level key of the latest version's metadata
    (the sample's when the scope has no version yet), for the editor's variable list."""
    metadata = latest_metadata(scope)
    if metadata is None:
        subject = data.get("linked") or data.get("artifact") or {}
        metadata = subject.get("metadata") or {}
    return [
        templating.METADATA_PREFIX + str(key)
        for key in sorted(metadata, key=str)
        if "}" not in str(key) and str(key).strip()
    ]


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
    scope_type = scope_fields(scope)["scope_type"]
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
    real = latest_event(scope, spec)
    event = real or sample_event(scope, spec)
    source = f"the latest {spec.source} event (#{event.pk})" if real else "a sample event"
    offered = list(allowed)
    if spec.is_artifact_event:
        at = offered.index(templating.METADATA_PREFIX) + 1
        offered[at:at] = metadata_variables(scope, event.data)
    preview = Preview(source=source, event=real, variables=offered)
    # The delivery pipeline's own rendering, on an unsaved automation and execution.
    execution = Execution(
        automation=Automation(
            team=scope.team, event_type=spec.type, filter=filter,
            name=automation_name or "my-automation", **scope_fields(scope),
        ),
        event=event,
        match={"values": metric_values(spec, filter, real, event.data)},
    )
    values = dispatch.variables_for(execution)
    if real is None:
        values["event_id"] = "sample"
    if not webhook:
        for text in (title, message):
            preview.errors += templating.validate(text or "", allowed)
        preview.rendered = build_message(
            severity=severity, title=templating.render_text(title, values),
            message=templating.render_text(message, values),
            context=dispatch.event_context(execution),
        )
        return preview
    if not payload_text.strip():
        preview.rendered = dispatch.full_event(execution, values)
        return preview
    try:
        template = json.loads(payload_text)
    except json.JSONDecodeError as exc:
        preview.errors.append(f"Not valid JSON yet: {exc.msg} (line {exc.lineno}).")
        return preview
    preview.errors += templating.validate(template, allowed)
    if has_token:
        values[variables.ACCESS_TOKEN] = MASK
    if secret_name:
        values[secret_name] = MASK
    preview.rendered = templating.render(template, values)
    return preview
