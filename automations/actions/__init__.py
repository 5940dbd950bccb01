"""Actions by integration kind: ``ACTIONS[integration.kind](integration)``."""

from __future__ import annotations

from automations.actions.base import Action, DeliveryResult, EventContext
from automations.actions.slack import SlackAction
from automations.actions.webhook import WebhookAction
from teams.models import Integration

ACTIONS: dict[str, type[Action]] = {
    SlackAction.kind: SlackAction,
    WebhookAction.kind: WebhookAction,
}
# The automation's action type names the integration kind it needs.
ACTION_KINDS = {"SLACK_NOTIFICATION": SlackAction.kind, "WEBHOOK": WebhookAction.kind}


def action_for(integration: Integration) -> Action:
    return ACTIONS[integration.kind](integration)


__all__ = ["ACTIONS", "ACTION_KINDS", "Action", "DeliveryResult", "EventContext", "action_for"]
