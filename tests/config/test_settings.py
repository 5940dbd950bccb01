"""Configuration: first-run keys, malformed keys stop start-up, environment beats .env,
DATABASE_URL / REDIS_URL switch the database and the queue broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.bootstrap import ensure_keys, parse_encryption_keys, validate_secret_key

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_keys_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test process read .env already (django-environ copies it into os.environ).
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FIELD_ENCRYPTION_KEY", raising=False)


def run_settings(tmp_path: Path, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter, with only the given Beacon variables."""
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY",
                          "BEACON_BASE_URL", "PORT", "DEBUG"}}
    clean.update({"BEACON_ENV_FILE": str(tmp_path / ".env"),
                  "BEACON_DATA_DIR": str(tmp_path / "data"),
                  "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c",
         f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


def test_first_run_generates_both_keys_into_a_private_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"

    ensure_keys(env_file)

    text = env_file.read_text()
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    assert len(values["SECRET_KEY"]) >= 50
    Fernet(values["FIELD_ENCRYPTION_KEY"])  # a valid key
    assert env_file.stat().st_mode & 0o777 == 0o600


def test_existing_keys_are_never_replaced(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=mine-mine-mine-mine-mine-mine-mine-mine\nOTHER=1")

    ensure_keys(env_file)
    ensure_keys(env_file)

    text = env_file.read_text()
    assert text.count("SECRET_KEY=") == 1 and "SECRET_KEY=mine-mine" in text
    assert text.count("FIELD_ENCRYPTION_KEY=") == 1
    assert "OTHER=1\n" in text


def test_a_key_in_the_environment_is_not_written_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    env_file = tmp_path / ".env"

    ensure_keys(env_file)

    text = env_file.read_text()
    assert "FIELD_ENCRYPTION_KEY" not in text and "SECRET_KEY=" in text


def test_malformed_keys_are_refused_with_a_clear_message() -> None:
    with pytest.raises(ImproperlyConfigured, match="key 2 of 2"):
        parse_encryption_keys(f"{Fernet.generate_key().decode()},not-a-key")
    with pytest.raises(ImproperlyConfigured, match="at least 32 characters"):
        validate_secret_key("short")


def test_several_encryption_keys_rotate_first_encrypts_all_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert parse_encryption_keys(f" {new} , {old} ") == [new, old]


def test_start_up_stops_on_a_malformed_encryption_key(tmp_path: Path) -> None:
    result = run_settings(tmp_path, "print('started')", FIELD_ENCRYPTION_KEY="nope")

    assert result.returncode != 0
    assert "started" not in result.stdout
    assert "FIELD_ENCRYPTION_KEY is malformed" in result.stderr


def test_the_process_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BEACON_BASE_URL=http://from-file.example\nPORT=9001\n")

    from_file = run_settings(tmp_path, "print(settings.BEACON_BASE_URL)")
    from_env = run_settings(tmp_path, "print(settings.BEACON_BASE_URL)",
                            BEACON_BASE_URL="http://from-env.example")
    port_only = run_settings(tmp_path, "print(settings.PORT)", PORT="9100")

    assert from_file.stdout.strip() == "http://from-file.example", from_file.stderr
    assert from_env.stdout.strip() == "http://from-env.example", from_env.stderr
    assert port_only.stdout.strip() == "9100"


def test_embedded_default_is_sqlite_with_the_orm_broker(tmp_path: Path) -> None:
    result = run_settings(
        tmp_path,
        "print(settings.DATABASES['default']['ENGINE']); print(sorted(settings.Q_CLUSTER))",
    )

    engine, q_keys = result.stdout.strip().splitlines()
    assert engine == "django.db.backends.sqlite3", result.stderr
    assert "'orm'" in q_keys and "'redis'" not in q_keys
    assert (tmp_path / "data").is_dir()


def test_database_url_and_redis_url_switch_to_postgresql_and_redis(tmp_path: Path) -> None:
    result = run_settings(
        tmp_path,
        "print(settings.DATABASES['default']['ENGINE']); print(settings.Q_CLUSTER['redis'])",
        DATABASE_URL="postgres://someone@127.0.0.1:5432/beacon",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )

    engine, redis_url = result.stdout.strip().splitlines()
    assert engine == "django.db.backends.postgresql", result.stderr
    assert redis_url == "redis://127.0.0.1:6379/3"
