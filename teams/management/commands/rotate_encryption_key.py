"""``rotate_encryption_key``: re-encrypt every stored secret with the first key of
``FIELD_ENCRYPTION_KEY`` (a comma-separated list: new key first, old keys after)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from teams.encryption import encrypted_fields, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field (team secrets, webhook signing secrets) with the "
        "first key of FIELD_ENCRYPTION_KEY; afterwards the other keys can be removed."
    )
    # The start-up check refuses undecryptable secrets; this command reports them itself.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = rotate_all()
        except ImproperlyConfigured as exc:
            raise CommandError(f"{exc} Nothing was changed.") from exc
        fields = ", ".join(f"{m._meta.label}.{f.name}" for m, f in encrypted_fields())
        keys = len(settings.FIELD_ENCRYPTION_KEY)
        self.stdout.write(
            f"Re-encrypted {count} value(s) ({fields}) with the first of {keys} key(s)."
        )
        if keys > 1:
            self.stdout.write(
                "Every stored secret now uses the first key: the others can be removed "
                "from FIELD_ENCRYPTION_KEY."
            )
