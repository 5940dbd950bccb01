"""Stored secrets and ``FIELD_ENCRYPTION_KEY``: refuse to start with a key that cannot
decrypt them, and re-encrypt them all with the first key (rotation).

django-encrypted-model-fields hands back the ciphertext itself when no key
decrypts a value, so a lost or replaced key would otherwise go unnoticed until a
webhook is signed with, or a Slack token is sent as, a Fernet token. The check
reads the raw column values and decrypts them with the configured keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, models, transaction
from encrypted_model_fields.fields import EncryptedMixin

CHECK_ID = "beacon.E001"
CHECK_LIMIT = 10_000  # values per field read at start-up


@dataclass(frozen=True)
class Undecryptable:
    label: str  # e.g. "teams.Secret #3 value"


def crypter() -> MultiFernet:
    """The configured keys: the first encrypts, every one decrypts."""
    return MultiFernet([Fernet(key) for key in settings.FIELD_ENCRYPTION_KEY])


def encrypted_fields() -> list[tuple[type[models.Model], models.Field[Any, Any]]]:
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedMixin)
    ]


def _raw_values(
    model: type[models.Model], field: models.Field[Any, Any], limit: int | None = None
) -> Iterator[tuple[Any, str]]:
    """(primary key, stored ciphertext) pairs, straight from the table."""
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote(model._meta.pk.column)}, {quote(field.column)} "
        f"FROM {quote(model._meta.db_table)} WHERE {quote(field.column)} IS NOT NULL "
        f"ORDER BY {quote(model._meta.pk.column)}"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        yield from cursor.fetchall()


def undecryptable(limit: int | None = CHECK_LIMIT) -> list[Undecryptable]:
    """Stored values no configured key decrypts."""
    fernet = crypter()
    bad = []
    for model, field in encrypted_fields():
        for pk, raw in _raw_values(model, field, limit):
            try:
                fernet.decrypt(str(raw).encode())
            except InvalidToken:
                bad.append(Undecryptable(f"{model._meta.label} #{pk} {field.name}"))
    return bad


def _message(bad: list[Undecryptable]) -> str:
    examples = ", ".join(b.label for b in bad[:3])
    return (
        f"FIELD_ENCRYPTION_KEY cannot decrypt {len(bad)} stored secret value(s) "
        f"({examples}{', …' if len(bad) > 3 else ''}): the key is wrong, or it was missing "
        "and Beacon generated a new one (was .env lost or replaced?). Beacon does not "
        "start with secrets it cannot read."
    )


HINT = (
    "Set FIELD_ENCRYPTION_KEY to the key the secrets were stored with. To change keys, "
    "list the new key first and the old one after it (FIELD_ENCRYPTION_KEY=new,old), "
    "run `manage.py rotate_encryption_key`, then drop the old key."
)


def check_encryption_key(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check (run by every management command, including serve and qcluster)."""
    try:
        bad = undecryptable()
    except DatabaseError:
        # Not migrated yet, or the database is down: nothing stored to check here;
        # a database that does not answer is reported where it is used.
        return []
    if not bad:
        return []
    return [checks.Error(_message(bad), hint=HINT, id=CHECK_ID)]


def verify_encryption_key() -> None:
    """For the web process (WSGI): the same check, raised."""
    problems = check_encryption_key()
    connection.close()  # not shared with the request threads or forked workers
    if problems:
        raise ImproperlyConfigured(f"{problems[0].msg}\nHINT: {problems[0].hint}")


def rotate_all() -> int:
    """Re-encrypt every stored encrypted value with the first key; returns how many.

    All or nothing: if any value cannot be decrypted, nothing is changed."""
    fernet = crypter()
    bad = undecryptable(limit=None)
    if bad:
        raise ImproperlyConfigured(_message(bad))
    quote = connection.ops.quote_name
    count = 0
    with transaction.atomic():
        for model, field in encrypted_fields():
            update = (
                f"UPDATE {quote(model._meta.db_table)} SET {quote(field.column)} = %s "
                f"WHERE {quote(model._meta.pk.column)} = %s"
            )
            rows = list(_raw_values(model, field))
            with connection.cursor() as cursor:
                for pk, raw in rows:
                    cursor.execute(update, [fernet.rotate(str(raw).encode()).decode(), pk])
                    count += 1
    return count
