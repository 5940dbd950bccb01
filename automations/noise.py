"""Noise control: the reasons an automation that matched an event does not act on it.

Each rule is a small function answering the reason to skip ("" to act);
:func:`skip_reason` asks them in order. ``create_executions`` records a skipped
execution with that reason in ``error``.

- the automation's integration is disabled (:mod:`automations.integration_health`);
- the automation is muted until a later time (``Automation.muted_until``);
- the automation acted on the same run or artifact less than
  ``Automation.throttle_minutes`` ago (skipped executions do not count).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from automations.models import Automation, Event, Execution


def throttle_key(event: Event) -> str:
    """What the throttle counts per: the run, or the artifact (project scope) or
    collection (registry scope) the event is about; "" when the event has neither."""
    data = event.data or {}
    run = data.get("run")
    if isinstance(run, dict) and run.get("id"):
        return f"run:{run['id']}"
    linked = data.get("linked")
    if isinstance(linked, dict) and linked.get("collection"):
        return f"collection:{linked['collection']}"
    artifact = data.get("artifact")
    if isinstance(artifact, dict) and artifact.get("name"):
        return f"artifact:{artifact['name']}"
    return ""


def integration_disabled(automation: Automation) -> str:
    integration = automation.integration
    if integration.enabled:
        return ""
    why = f": {integration.disabled_reason}" if integration.disabled_reason else ""
    return (
        f"integration {integration.name} is disabled{why}; "
        "an admin can re-enable it in Team Settings"
    )


def muted(automation: Automation, now: datetime) -> str:
    until = automation.muted_until
    if until is None or until <= now:
        return ""
    return f"automation is muted until {until.isoformat(timespec='seconds')}"


def last_acted(automation: Automation, key: str, since: datetime) -> Execution | None:
    """The newest execution of ``automation`` for ``key`` since ``since`` that acted."""
    return (
        Execution.objects.filter(
            automation=automation,
            trigger=Execution.Trigger.EVENT,
            created_at__gte=since,
            match__throttle_key=key,
        )
        .exclude(status=Execution.Status.SKIPPED)
        .order_by("-created_at")
        .first()
    )


def throttled(automation: Automation, key: str, now: datetime) -> str:
    """Call inside a transaction: the automation's row is locked so that concurrent
    workers decide one after the other."""
    minutes = automation.throttle_minutes
    if not minutes or not key:
        return ""
    Automation.objects.select_for_update().filter(pk=automation.pk).first()
    previous = last_acted(automation, key, now - timedelta(minutes=minutes))
    if previous is None:
        return ""
    what = key.replace(":", " ", 1)
    return (
        f"throttled: already acted on {what} at "
        f"{previous.created_at.isoformat(timespec='seconds')}; this automation acts at "
        f"most once every {minutes} minute{'s' if minutes != 1 else ''} per run or artifact"
    )


def skip_reason(automation: Automation, event: Event, now: datetime) -> str:
    """Why ``automation`` must not act on ``event`` now ("" when it may act)."""
    return (
        integration_disabled(automation)
        or muted(automation, now)
        or throttled(automation, throttle_key(event), now)
    )
