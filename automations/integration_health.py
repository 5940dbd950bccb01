"""Integration health: an integration that can no longer be delivered to is disabled.

Every delivery attempt's outcome is noted (:func:`note_outcome`, called where an
attempt is recorded). An integration is disabled when

- it got a *permanent answer* about the destination itself — HTTP 410 Gone, or a
  Slack error saying the channel, the token or the webhook is gone
  (:data:`SLACK_GONE`); other permanent failures (a 400 for one payload, a broken
  template) concern one delivery, not the integration, and only fail it;
- or its deliveries have only failed for ``settings.BEACON_DISABLE_AFTER``
  (``failing_since`` is the first failure after the last success).

While disabled, new executions of its automations are ``skipped`` with the reason
(:mod:`automations.noise`), until an admin re-enables it (:func:`enable`).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from automations.actions.base import DeliveryResult
from teams.models import Integration

log = logging.getLogger(__name__)

GONE_STATUSES = frozenset({410})
# Slack answers meaning the destination or the credentials are gone for good.
SLACK_GONE = frozenset({
    "channel_not_found", "channel_is_archived", "is_archived", "invalid_auth", "invalid_token",
    "not_authed", "token_revoked", "token_expired", "account_inactive", "no_service",
    "no_service_id", "no_team", "team_disabled", "not_in_channel",
})
_slack_code = re.compile(r"[a-z][a-z_]{2,63}")


def slack_error_code(result: DeliveryResult) -> str:
    """The Slack error code of a refused message ("" when there is none).

    The Web API answers ``{"ok": false, "error": "channel_not_found"}``; incoming
    webhooks answer the bare code as text (``no_service``)."""
    text = result.response_excerpt.strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text if _slack_code.fullmatch(text) else ""
    return str(data.get("error") or "") if isinstance(data, dict) else ""


def gone_reason(integration: Integration, result: DeliveryResult) -> str:
    """Why ``result`` says the integration itself is gone ("" when it does not)."""
    if result.ok or not result.permanent:
        return ""
    if result.status in GONE_STATUSES:
        return f"the destination answered HTTP {result.status} (gone)"
    if integration.kind == Integration.Kind.SLACK:
        code = slack_error_code(result)
        if code in SLACK_GONE:
            return f"Slack answered {code}"
    return ""


def in_words(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def failing_too_long(since: datetime | None, now: datetime) -> str:
    """The reason to disable when deliveries have only failed since ``since`` ("" if not yet)."""
    limit: timedelta = settings.BEACON_DISABLE_AFTER
    if since is None or now - since < limit:
        return ""
    return (
        f"every delivery has failed since {since.isoformat(timespec='seconds')} "
        f"(more than {in_words(limit)})"
    )


def mark_failing(integration: Integration, now: datetime) -> datetime:
    """Record the first failure since the last success; returns when failing began.

    A conditional UPDATE, so concurrent workers keep the earliest time."""
    if Integration.objects.filter(pk=integration.pk, failing_since__isnull=True).update(
        failing_since=now
    ):
        integration.failing_since = now
        return now
    since = (
        Integration.objects.filter(pk=integration.pk)
        .values_list("failing_since", flat=True)
        .first()
    )
    integration.failing_since = since or now
    return integration.failing_since


def mark_healthy(integration: Integration) -> None:
    """A success ends a failing streak (no write when there was none)."""
    if integration.failing_since is None:
        return
    Integration.objects.filter(pk=integration.pk).exclude(failing_since=None).update(
        failing_since=None
    )
    integration.failing_since = None


def disable(integration: Integration, reason: str, now: datetime | None = None) -> bool:
    """Disable the integration with ``reason``; False when it already was disabled."""
    now = now or timezone.now()
    changed = Integration.objects.filter(pk=integration.pk, disabled_at=None).update(
        disabled_at=now, disabled_reason=reason
    )
    if changed:
        integration.disabled_at, integration.disabled_reason = now, reason
        log.warning("integration %s of team %s disabled: %s",
                    integration.name, integration.team_id, reason)
    return bool(changed)


def enable(integration: Integration) -> None:
    """An admin's re-enable: deliveries resume, with a fresh failing streak."""
    integration.disabled_at = None
    integration.disabled_reason = ""
    integration.failing_since = None
    Integration.objects.filter(pk=integration.pk).update(
        disabled_at=None, disabled_reason="", failing_since=None, updated_at=timezone.now()
    )


def set_enabled(integration: Integration, enabled: bool, user: object) -> None:
    """An admin's switch: re-enable, or disable by hand (saying who did)."""
    if enabled and not integration.enabled:
        enable(integration)
    elif not enabled and integration.enabled:
        name = getattr(user, "username", "") or "an admin"
        disable(integration, f"disabled by {name}")


def note_outcome(integration: Integration, result: DeliveryResult) -> None:
    """Track the integration's health after one delivery attempt; disable it when
    the answer says it is gone or it has only failed for ``BEACON_DISABLE_AFTER``."""
    if result.ok:
        mark_healthy(integration)
        return
    now = timezone.now()
    reason = gone_reason(integration, result) or failing_too_long(
        mark_failing(integration, now), now
    )
    if reason and integration.disabled_at is None:
        disable(integration, reason, now)
