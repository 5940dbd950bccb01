"""Secrets and signing secrets are encrypted at rest: the stored column is not
the plaintext (read with raw SQL), while the model still reads it back."""

from __future__ import annotations

from typing import Any

from django.db import connection

from teams.models import Integration, Secret

PLAINTEXT = "hooks.slack.example/T0/B0/very-secret-path-123"


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def test_the_stored_secret_column_is_not_the_plaintext(team: Any) -> None:
    secret = Secret.objects.create(team=team, name="SLACK_URL", value=PLAINTEXT)

    stored = raw_column("teams_secret", "value", secret.pk)

    assert PLAINTEXT not in stored
    assert "very-secret" not in stored
    assert Secret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_a_rotated_secret_is_stored_encrypted_too(team: Any) -> None:
    secret = Secret.objects.create(team=team, name="TOKEN", value="first-value")
    secret.rotate(PLAINTEXT)

    stored = raw_column("teams_secret", "value", secret.pk)

    assert PLAINTEXT not in stored
    assert Secret.objects.get(pk=secret.pk).value == PLAINTEXT


def test_secrets_set_through_the_api_are_encrypted(admin_api: Any, team: Any) -> None:
    admin_api.put("/teams/acme/secrets/API_SET", json={"value": PLAINTEXT})

    secret = Secret.objects.get(name="API_SET")

    assert PLAINTEXT not in raw_column("teams_secret", "value", secret.pk)


def test_the_webhook_signing_secret_is_stored_encrypted(team: Any) -> None:
    integration = Integration.objects.create(
        team=team, kind="webhook", name="deploy", url="https://example.com/h"
    )

    stored = raw_column("teams_integration", "signing_secret", integration.pk)

    assert integration.signing_secret.startswith("whsec_")
    assert integration.signing_secret not in stored
