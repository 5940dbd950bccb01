"""Standard Webhooks verification of requests received by an inbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook

from teams.models import Integration

if TYPE_CHECKING:
    from inbox.models import Inbox

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def candidate_integrations(inbox: Inbox) -> list[Integration]:
    """The team's webhook integrations that deliver to this inbox."""
    webhooks = Integration.objects.filter(
        team_id=inbox.team_id,
        kind=Integration.Kind.WEBHOOK,
        url__in={inbox.url, inbox.url.rstrip("/")},
    )
    return [i for i in webhooks if i.signing_secret]


def check_signature(
    inbox: Inbox, body: bytes, headers: Mapping[str, str]
) -> tuple[str, str]:
    """``("valid", integration name)``, ``("invalid", "")`` or ``("unsigned", "")``.

    A request is unsigned when it has none of the Standard Webhooks headers;
    it is invalid when it has some but no integration pointing here verifies it
    (wrong secret, altered body, stale timestamp, malformed header)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if not any(h in lowered for h in SIGNATURE_HEADERS):
        return "unsigned", ""
    for integration in candidate_integrations(inbox):
        try:
            Webhook(integration.signing_secret).verify(body, lowered, json_parse=False)
        except Exception:  # any failure (bad base64, bad UTF-8) means "not this one"
            continue
        return "valid", integration.name
    return "invalid", ""
