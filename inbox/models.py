"""Request inboxes: a URL on this Beacon that records every request it receives.

Admins point a webhook integration at an inbox to see exactly what Beacon (or
anything else) sends: method, headers, body and whether the Standard Webhooks
signature verifies.
"""

from __future__ import annotations

import json
import secrets as pysecrets
from collections.abc import Mapping

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from automations.masking import DEFAULT_MASK, masked_excerpt
from teams.models import Team

KEEP_REQUESTS = 200
MAX_BODY_BYTES = 256 * 1024
# Header values that may carry credentials are stored masked.
MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
MASK = DEFAULT_MASK


def generate_token() -> str:
    return pysecrets.token_urlsafe(24)


# Shorter secret values are not masked in inboxes (they would mask ordinary text).
MIN_MASKED = 4
QUERY_LIMIT = 2048


def team_secret_values(team: Team) -> list[str]:
    """The team's secret values (a delivery may substitute them into its payload, and
    the inbox must not store them in plaintext)."""
    from teams.models import Secret

    values = Secret.objects.filter(team=team).values_list("value", flat=True)
    return sorted({v for v in values if v and len(v) >= MIN_MASKED})


def mask_text(text: str, secrets: list[str], limit: int | None = None) -> str:
    """``text`` with every encoding of every secret masked (JSON-escaped in any mix —
    Beacon's own ``ensure_ascii=False`` bodies included — URL-encoded, base64…), by the
    same ``masking.masked_excerpt`` deliveries use."""
    return masked_excerpt(text, secrets, limit)


def mask_values(data: bytes, secrets: list[str]) -> bytes:
    """A body's bytes with the secrets masked; bytes that are not UTF-8 are kept as sent."""
    text = data.decode("utf-8", "surrogateescape")
    return mask_text(text, secrets).encode("utf-8", "surrogateescape")


def mask_header(name: str, value: str) -> str:
    """Keep an ``Authorization`` scheme (``Bearer``) but never the credential."""
    if name.lower() not in MASKED_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and name.lower() != "cookie":
        return f"{scheme} {MASK}"
    return MASK


class Inbox(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="inboxes")
    name = models.CharField(max_length=128)
    token = models.CharField(max_length=64, unique=True, default=generate_token)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="inbox_unique_team_name")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inbox_detail", args=[self.team.slug, self.pk])

    @property
    def path(self) -> str:
        return reverse("inbox_receive", args=[self.token])

    @property
    def url(self) -> str:
        """The address to give a webhook integration."""
        return settings.BEACON_BASE_URL + self.path

    def receive(
        self,
        *,
        method: str,
        headers: Mapping[str, str],
        body: bytes,
        query: str = "",
        remote_addr: str = "",
    ) -> InboxRequest:
        """Record one request (signature checked now: its timestamp is only valid briefly)
        and drop all but the newest ``KEEP_REQUESTS``. The team's secret values are
        masked wherever they appear in what is stored."""
        from inbox.signatures import check_signature

        status, integration = check_signature(self, body, headers)
        secrets = team_secret_values(self.team)

        with transaction.atomic():
            req = InboxRequest.objects.create(
                inbox=self,
                method=method[:16],
                query=mask_text(query, secrets, QUERY_LIMIT),
                remote_addr=remote_addr[:64],
                headers=[[k, mask_text(mask_header(k, v), secrets)] for k, v in headers.items()],
                body=mask_values(body, secrets),
                size=len(body),
                signature=status,
                signed_by=integration,
            )
            stale = self.requests.order_by("-received_at", "-id").values_list("id", flat=True)[
                KEEP_REQUESTS:
            ]
            stale_ids = list(stale)
            if stale_ids:
                InboxRequest.objects.filter(id__in=stale_ids).delete()
        return req

    def clear(self) -> int:
        deleted, _ = self.requests.all().delete()
        return deleted


class InboxRequest(models.Model):
    class Signature(models.TextChoices):
        VALID = "valid", "Valid"
        INVALID = "invalid", "Invalid"
        UNSIGNED = "unsigned", "Unsigned"

    inbox = models.ForeignKey(Inbox, models.CASCADE, related_name="requests")
    received_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=16)
    query = models.CharField(max_length=2048, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    # [[name, value], ...] in arrival order; credential values masked.
    headers = models.JSONField(default=list)
    body = models.BinaryField(default=bytes)
    size = models.PositiveIntegerField(default=0)
    signature = models.CharField(max_length=16, choices=Signature.choices)
    # Name of the integration whose signing secret verified the request.
    signed_by = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["inbox", "-received_at"], name="inboxrequest_newest")]

    def __str__(self) -> str:
        return f"{self.method} to {self.inbox} at {self.received_at:%Y-%m-%d %H:%M:%S}"

    def mask_for_display(self, secrets: list[str]) -> InboxRequest:
        """Mask ``secrets`` again in this row's body, headers and query, in memory only
        (never saved): rows stored before a secret was created or rotated — or before
        every encoding was masked — are shown masked too."""
        self.body = mask_values(bytes(self.body), secrets)
        self.headers = [[k, mask_text(str(v), secrets)] for k, v in self.headers]
        self.query = mask_text(self.query, secrets)
        return self

    def header(self, name: str) -> str:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return ""

    @property
    def content_type(self) -> str:
        return self.header("content-type")

    @property
    def body_text(self) -> str:
        """The body for display: pretty JSON when it parses, else text (bytes replaced)."""
        raw = bytes(self.body)
        text = raw.decode("utf-8", errors="replace")
        try:
            return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
        except ValueError:
            return text

    @property
    def is_json(self) -> bool:
        try:
            json.loads(bytes(self.body))
        except ValueError:
            return False
        return True
