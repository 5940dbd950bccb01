"""What admins do by hand: test an automation, redeliver an execution, test an integration."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from automations import dispatch
from automations.actions import action_for
from automations.actions.base import DeliveryResult, EventContext
from automations.conditions import Verdict, history_needed
from automations.events import describe_metric, get_spec, sample_data
from automations.masking import masked_excerpt
from automations.models import Automation, Event, Execution, generate_webhook_id
from automations.subjects import absolute_url
from teams.models import Integration

# How far back "Test" looks for a real event that matches.
TEST_CANDIDATES = 50


class NotRedeliverable(Exception):
    """The execution is still pending: it has not finished its own delivery."""


def latest_match(automation: Automation) -> tuple[Event, Verdict] | None:
    """The newest real event of the automation's scope that its filter matches."""
    spec = get_spec(automation.scope_type, automation.event_type)
    events = Event.objects.filter(type=spec.source, sample=False).select_related(
        "team", "project", "registry"
    )
    if automation.scope_type == "project":
        events = events.filter(project_id=automation.project_id)
    else:
        events = events.filter(registry_id=automation.registry_id)
    for event in events.order_by("-created_at", "-id")[:TEST_CANDIDATES]:
        match = dispatch.evaluate_event(event, [automation])[0]
        if match.verdict.matched:
            return event, match.verdict
    return None


def sample_event(automation: Automation, user: Any) -> tuple[Event, Verdict]:
    """A realistic made-up event of the automation's type (stored, marked ``sample``)."""
    spec = get_spec(automation.scope_type, automation.event_type)
    scope = automation.scope
    data = sample_data(
        automation.scope_type, automation.event_type, team=automation.team.slug,
        scope_name=scope.name, base_url=settings.BEACON_BASE_URL,
    )
    values: dict[str, Any] = {}
    if spec.is_metric_event:
        metric = automation.filter.get("metric", "loss")
        data["metrics"] = [metric]
        threshold = automation.filter.get("threshold", automation.filter.get("amount", 1.0))
        value = math.nan if automation.filter.get("cmp") == "nonfinite" else float(threshold)
        values = {
            "metric_name": metric,
            "metric_value": value,
            # A window as full as the condition judges (a threshold's aggregate is ``value``).
            "metric_values": [value] * history_needed(automation.event_type, automation.filter),
            "metric_step": data.get("last_step", 100),
            "metric_filter": describe_metric(automation.event_type, automation.filter),
        }
    subject = next(
        (str(data[k]["ref"]) for k in ("linked", "artifact", "collection_info")
         if isinstance(data.get(k), dict)),
        f"{automation.team.slug}/{scope.name}/sample",
    )
    event = Event.objects.create(
        team=automation.team,
        type=spec.source,
        scope_type=automation.scope_type,
        project=automation.project,
        registry=automation.registry,
        subject=f"sample: {subject}",
        author=user if getattr(user, "is_authenticated", False) else None,
        author_name=getattr(user, "username", "") or "",
        data=data,
        sample=True,
        processed_at=timezone.now(),
    )
    return event, Verdict(True, "a sample event (no real event matched yet)", values)


def run_test(automation: Automation, user: Any) -> Execution:
    """Run the action now, synchronously, on the latest matching real event of the
    automation's scope, or on a sample event when there is none. One attempt, no retry."""
    found = latest_match(automation)
    event, verdict = found if found is not None else sample_event(automation, user)
    run_id = event.run_id
    execution = Execution.objects.create(
        automation=automation,
        event=event,
        trigger=Execution.Trigger.TEST,
        match={**verdict.as_json(), "run_id": run_id},
        target=automation.integration.target,
        next_attempt_at=timezone.now(),
        # Claimed from the start: this request sends it, not a worker's poller.
        claimed_until=timezone.now() + dispatch.claim_lease(),
    )
    return deliver_now(execution)


def deliver_now(execution: Execution) -> Execution:
    """The one attempt of a test execution created claimed by this request."""
    execution = dispatch.load_for_delivery(execution.pk)
    dispatch.send_once(execution, retry=False)
    execution.refresh_from_db()
    return execution


def redeliver(execution: Execution, user: Any) -> Execution:
    """A new execution of the same automation and event, queued for delivery on commit.

    It keeps the ``webhook-id`` (the same message, sent again)."""
    if execution.status == Execution.Status.PENDING:
        raise NotRedeliverable("This execution is still being delivered.")
    with transaction.atomic():
        again = Execution.objects.create(
            automation=execution.automation,
            event=execution.event,
            trigger=Execution.Trigger.REDELIVERY,
            redelivery_of=execution,
            match=execution.match,
            webhook_id=execution.webhook_id,
            target=execution.automation.integration.target,
            next_attempt_at=timezone.now(),
        )
        dispatch.enqueue_delivery_on_commit(again.pk)
    return again


def test_integration(integration: Integration, payload: Any = None) -> DeliveryResult:
    """Send ``payload`` (or a small test message) to the integration now; secrets masked
    in what comes back."""
    action = action_for(integration)
    if payload is None:
        payload = action.test_payload(
            EventContext(
                what="A test message sent from Beacon", filter="", who="",
                where=f"{integration.team.slug} integration {integration.name}",
                url=absolute_url(integration.team.get_absolute_url()),
            )
        )
    result = action.send(payload, webhook_id=generate_webhook_id())
    hidden = list(action.secrets().values())
    return replace(
        result,
        response_excerpt=masked_excerpt(result.response_excerpt, hidden),
        error=masked_excerpt(result.error, hidden),
    )
