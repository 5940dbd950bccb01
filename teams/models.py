"""Teams, their members, secrets, integrations, and users' API keys."""

from __future__ import annotations

import base64
import hashlib
import secrets as pysecrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from encrypted_model_fields.fields import EncryptedCharField, EncryptedTextField

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
SECRET_NAME_RE = r"^[A-Z_][A-Z0-9_]*$"
name_validator = RegexValidator(
    NAME_RE,
    "Use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit.",
)
secret_name_validator = RegexValidator(
    SECRET_NAME_RE, "Use capital letters, digits and '_', not starting with a digit."
)


class Team(models.Model):
    """A W&B "entity": owns projects, registries, secrets and integrations."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def get_absolute_url(self) -> str:
        return reverse("team_home", args=[self.slug])

    def role_of(self, user: object) -> str | None:
        """The role of ``user`` in this team, or None for outsiders."""
        if not getattr(user, "is_authenticated", False):
            return None
        m = self.memberships.filter(user=user).only("role").first()
        return m.role if m else None


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user")
        ]
        ordering = ["team", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class Secret(models.Model):
    """A write-only team secret. The value is encrypted at rest and never shown."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=128, validators=[secret_name_validator])
    value = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="secret_unique_team_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rotate(self, value: str) -> None:
        self.value = value
        self.updated_at = timezone.now()
        self.save(update_fields=["value", "updated_at"])

    def used_by(self) -> list[Integration]:
        """Integrations that reference this secret (deleting it is refused while any do)."""
        q = (
            models.Q(webhook_url_secret=self)
            | models.Q(bot_token_secret=self)
            | models.Q(access_token_secret=self)
            | models.Q(payload_secret=self)
        )
        return list(Integration.objects.filter(q).order_by("name"))


def host_only(url: str) -> str:
    """A URL shown without what may hold a token: ``https://host:port/…`` — no user
    info, path, query or fragment (Teams, Discord and inbox URLs carry theirs there)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "…"
    if not parts.scheme or not parts.hostname:
        return "…"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    rest = (parts.path not in ("", "/")) or parts.query or parts.fragment or parts.username
    return shown + ("/…" if rest else "/")


def without_url_parts(text: str, url: str) -> str:
    """``text`` with ``url`` shown as its host (:func:`host_only`) and the URL's path and
    query nowhere (delivery errors quote them; receivers may echo them)."""
    if not text or not url:
        return text
    text = text.replace(url, host_only(url))
    try:
        parts = urlsplit(url)
    except ValueError:
        return text
    pieces = {parts.path + ("?" + parts.query if parts.query else ""), parts.path, parts.query}
    for piece in sorted((p for p in pieces if len(p) > 1), key=len, reverse=True):
        text = text.replace(piece, "/…" if piece.startswith("/") else "…")
    return text


def shown_target(target: str, *, full: bool) -> str:
    """An integration's (or execution's) target as one reader may see it: in full for
    admins (``full``), otherwise a webhook URL is cut to its host (:func:`host_only`)."""
    if full or not target:
        return target
    if "://" in target:
        return host_only(target)
    return target


def shown_text(text: str, integration: Integration | None, *, full: bool) -> str:
    """A delivery's error or response excerpt as one reader may see it: for non-admins
    (not ``full``) a webhook's URL path and query are taken out (already so in what
    Beacon writes; this also covers what a receiver echoes and older rows)."""
    if full or integration is None or integration.kind != Integration.Kind.WEBHOOK:
        return text
    return without_url_parts(text, integration.url)


def generate_signing_secret() -> str:
    # Standard base64 (not urlsafe): Standard Webhooks libraries base64-decode the part
    # after "whsec_", and '-'/'_' would make about a quarter of the secrets undecodable.
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(32)).decode()


class Integration(models.Model):
    """A reusable Slack destination or webhook endpoint of a team."""

    class Kind(models.TextChoices):
        SLACK = "slack", "Slack"
        WEBHOOK = "webhook", "Webhook"

    team = models.ForeignKey(Team, models.CASCADE, related_name="integrations")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=128, validators=[name_validator])
    # Slack
    workspace = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=128, blank=True)
    channel_id = models.CharField(max_length=64, blank=True)
    webhook_url_secret = models.ForeignKey(
        Secret, models.PROTECT, null=True, blank=True, related_name="+"
    )
    bot_token_secret = models.ForeignKey(
        Secret, models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Webhook
    url = models.URLField(max_length=2048, blank=True)
    access_token_secret = models.ForeignKey(
        Secret, models.PROTECT, null=True, blank=True, related_name="+"
    )
    payload_secret = models.ForeignKey(
        Secret, models.PROTECT, null=True, blank=True, related_name="+"
    )
    signing_secret = EncryptedCharField(max_length=128, blank=True)
    # Health (automations.integration_health): when deliveries started failing without
    # a success since, and when and why Beacon (or an admin) disabled the integration.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.TextField(blank=True)
    # Also sign like MLflow's webhooks (X-MLflow-Signature), for receivers written for them.
    mlflow_signatures = models.BooleanField(
        "MLflow-style signatures",
        default=False,
        help_text="Also send X-MLflow-Delivery-Id, X-MLflow-Timestamp and X-MLflow-Signature "
        "(HMAC-SHA256 with the signing secret), so receivers written for MLflow webhooks "
        "work unchanged.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="integration_unique_team_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.kind == self.Kind.WEBHOOK and not self.signing_secret:
            self.signing_secret = generate_signing_secret()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def enabled(self) -> bool:
        """False while disabled: executions are then ``skipped`` until an admin re-enables it."""
        return self.disabled_at is None

    @property
    def slack_mode(self) -> str:
        """``webhook`` (incoming-webhook URL) or ``bot`` (bot token + channel id)."""
        return "bot" if self.bot_token_secret_id else "webhook"

    @property
    def target(self) -> str:
        """Where deliveries go, in words, without any secret. A webhook's full URL: show
        it to non-admins through :func:`shown_target` (host only)."""
        if self.kind == self.Kind.SLACK:
            where = self.channel or self.channel_id
            return f"{self.workspace} {where}".strip()
        return self.url


class ApiKey(models.Model):
    """A user's API key; only a SHA-256 hash is stored, the key is shown once."""

    PREFIX = "bk_"
    # last_used_at is written at most this often, so authenticated reads stay reads.
    LAST_USED_EVERY = timedelta(minutes=1)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=128, blank=True)
    prefix = models.CharField(max_length=16)
    hashed_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: object, name: str = "") -> tuple[ApiKey, str]:
        """Create a key for ``user``; returns the row and the plaintext key (shown once).

        ``bk_`` then 48 hex digits: only ``[A-Za-z0-9_]`` and 40+ characters, the shape
        the ``wandb`` SDK checks before it sends a key. Keys issued before (urlsafe base64
        with ``-``) keep working: only their hash is compared."""
        key = cls.PREFIX + pysecrets.token_hex(24)
        obj = cls.objects.create(user=user, name=name, prefix=key[:10], hashed_key=cls.hash(key))
        return obj, key

    @classmethod
    def authenticate(cls, key: str) -> ApiKey | None:
        try:  # get(), not first(): the hash is unique, nothing to sort
            obj = cls.objects.select_related("user").get(
                hashed_key=cls.hash(key), revoked_at__isnull=True, user__is_active=True
            )
        except cls.DoesNotExist:
            return None
        obj.touch()
        return obj

    def touch(self) -> None:
        """Record use at most once per ``LAST_USED_EVERY``: one conditional UPDATE that
        writes nothing while the stored time is recent, so reads do not write."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < self.LAST_USED_EVERY:
            return
        stale = models.Q(last_used_at__isnull=True) | models.Q(
            last_used_at__lt=now - self.LAST_USED_EVERY
        )
        ApiKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        self.last_used_at = now

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])
