"""FIELD_ENCRYPTION_KEY and the stored secrets: a key that cannot decrypt them stops
start-up (commands, the worker, the web process) with a clear message, and
``rotate_encryption_key`` re-encrypts everything with the first key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from teams.encryption import CHECK_ID, check_encryption_key, undecryptable
from teams.models import Secret, Team
from tests.support.beacon_process import ROOT, BeaconSite

READ_SECRETS = (
    "from teams.models import Secret, Integration; "
    "print(sorted(s.value for s in Secret.objects.all())); "
    "print([i.signing_secret for i in Integration.objects.order_by('pk')])"
)


def store_raw(secret: Secret, token: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE teams_secret SET value = %s WHERE id = %s", [token, secret.pk])


def test_the_check_passes_with_the_right_key(team: Team) -> None:
    Secret.objects.create(team=team, name="TOKEN", value="s3cret-value")
    assert check_encryption_key() == []


def test_a_secret_stored_with_another_key_fails_the_check_clearly(team: Team) -> None:
    good = Secret.objects.create(team=team, name="GOOD", value="fine")
    bad = Secret.objects.create(team=team, name="TOKEN", value="placeholder")
    store_raw(bad, Fernet(Fernet.generate_key()).encrypt(b"s3cret-value").decode())

    [error] = check_encryption_key()

    assert error.id == CHECK_ID
    assert "FIELD_ENCRYPTION_KEY cannot decrypt 1 stored secret value(s)" in error.msg
    assert f"teams.Secret #{bad.pk} value" in error.msg and f"#{good.pk} " not in error.msg
    assert "s3cret-value" not in error.msg + (error.hint or "")
    assert "rotate_encryption_key" in (error.hint or "")
    assert [u.label for u in undecryptable()] == [f"teams.Secret #{bad.pk} value"]


# --- real processes on a temp database -------------------------------------------

KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BeaconSite:
    """A migrated Beacon whose secrets were stored with KEY_A."""
    site = BeaconSite.create(tmp_path_factory.mktemp("keys"), FIELD_ENCRYPTION_KEY=KEY_A)
    site.shell(
        "from teams.models import Team, Secret, Integration; "
        "t = Team.objects.create(slug='k', name='K'); "
        "Secret.objects.create(team=t, name='ONE', value='value-one'); "
        "Secret.objects.create(team=t, name='TWO', value='value-two'); "
        "Integration.objects.create(team=t, kind='webhook', name='h', "
        "url='https://hooks.example.com/x', signing_secret='whsec_signing')"
    )
    return site


def with_key(key: str) -> dict[str, str]:
    return {"FIELD_ENCRYPTION_KEY": key}


@pytest.mark.integration
@pytest.mark.parametrize("command", [["check"], ["qcluster"], ["serve", "--port", "1"]])
def test_commands_refuse_to_start_with_a_wrong_key(site: BeaconSite, command: list[str]) -> None:
    result = site.manage(*command, env=with_key(KEY_C), check=False, timeout=120)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY cannot decrypt 3 stored secret value(s)" in result.stderr
    assert CHECK_ID in result.stderr
    assert "value-one" not in result.stdout + result.stderr


@pytest.mark.integration
def test_a_missing_key_is_generated_but_start_up_still_stops(
    site: BeaconSite, tmp_path: Path
) -> None:
    # .env lost: Beacon generates a fresh key, which cannot read the old secrets.
    env = {k: v for k, v in site.env.items() if k != "FIELD_ENCRYPTION_KEY"}
    env["BEACON_ENV_FILE"] = str(tmp_path / "fresh.env")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)

    assert "FIELD_ENCRYPTION_KEY=" in (tmp_path / "fresh.env").read_text()
    assert result.returncode != 0
    assert "it was missing and Beacon generated a new one" in result.stderr


@pytest.mark.integration
def test_the_web_process_refuses_to_start_with_a_wrong_key(site: BeaconSite) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"], cwd=ROOT,
        env={**site.env, **with_key(KEY_C)}, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: FIELD_ENCRYPTION_KEY cannot decrypt" in result.stderr

    ok = subprocess.run([sys.executable, "-c", "import config.wsgi"], cwd=ROOT,
                        env={**site.env, **with_key(KEY_A)}, capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr


@pytest.mark.integration
def test_rotation_re_encrypts_every_secret_with_the_first_key(site: BeaconSite) -> None:
    refused = site.manage("rotate_encryption_key", env=with_key(f"{KEY_B},{KEY_C}"),
                          check=False)
    assert refused.returncode != 0 and "Nothing was changed" in refused.stderr

    rotated = site.manage("rotate_encryption_key", env=with_key(f"{KEY_B},{KEY_A}"))
    assert "Re-encrypted 3 value(s)" in rotated.stdout
    assert "teams.Secret.value" in rotated.stdout
    assert "teams.Integration.signing_secret" in rotated.stdout

    # The old key can go: the new one alone reads everything and starts.
    assert site.manage("check", env=with_key(KEY_B)).returncode == 0
    read = site.shell(READ_SECRETS, env=with_key(KEY_B)).stdout.splitlines()[-2:]
    assert read == ["['value-one', 'value-two']", "['whsec_signing']"]
    old_only = site.manage("check", env=with_key(KEY_A), check=False)
    assert old_only.returncode != 0


def test_rotation_in_process_keeps_values(team: Team, settings: Any) -> None:
    """The command's core, on the test database: tokens change, values do not."""
    from teams.encryption import rotate_all

    secret = Secret.objects.create(team=team, name="TOKEN", value="keep-me")
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM teams_secret WHERE id = %s", [secret.pk])
        before = cursor.fetchone()[0]

    assert rotate_all() >= 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM teams_secret WHERE id = %s", [secret.pk])
        after = cursor.fetchone()[0]
    assert after != before and "keep-me" not in after
    assert Secret.objects.get(pk=secret.pk).value == "keep-me"
