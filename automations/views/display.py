"""Words for automations on the pages: the event, its condition, the action target."""

from __future__ import annotations

from typing import Any

from automations import events
from automations.models import Automation


def event_label(scope_type: str, event_type: str) -> str:
    try:
        return events.get_spec(scope_type, event_type).label
    except KeyError:
        return event_type


def condition_words(scope_type: str, event_type: str, filter: dict[str, Any]) -> str:
    """The filter in words (``avg(loss, 5) > 2.0``); empty when there is no condition."""
    try:
        return events.describe(scope_type, event_type, filter or {})
    except (KeyError, ValueError, TypeError):
        return ""


def event_type_choices(scope_type: str) -> list[tuple[str, str]]:
    return [(spec.type, spec.label) for spec in events.specs_for_scope(scope_type)]


def decorate(automation: Automation) -> Automation:
    """Attach the words a row or a detail page shows (no queries)."""
    automation.event_words = event_label(automation.scope_type, automation.event_type)  # type: ignore[attr-defined]
    automation.condition_words = condition_words(  # type: ignore[attr-defined]
        automation.scope_type, automation.event_type, automation.filter
    )
    return automation
