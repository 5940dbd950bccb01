"""``BEACON_DISABLE_AFTER`` and other duration settings: seconds or a number with a unit."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.durations import parse_duration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "expected"), [
    ("432000", timedelta(days=5)),
    ("5d", timedelta(days=5)),
    ("36h", timedelta(hours=36)),
    ("90m", timedelta(minutes=90)),
    ("30s", timedelta(seconds=30)),
    ("2w", timedelta(weeks=2)),
    (" 1.5 H ", timedelta(minutes=90)),
])
def test_durations_in_seconds_or_with_a_unit(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "0", "0d", "-5d", "5 days", "d", "5y", "1e3"])
def test_anything_else_stops_start_up_with_the_setting_named(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^BEACON_DISABLE_AFTER must be a positive"):
        parse_duration(text, "BEACON_DISABLE_AFTER")


def settings_with(tmp_path: Path, value: str | None) -> subprocess.CompletedProcess[str]:
    """Print ``BEACON_DISABLE_AFTER`` in seconds from a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "BEACON_DISABLE_AFTER"}
    env.update({"BEACON_ENV_FILE": str(tmp_path / ".env"), "BEACON_DATA_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "config.settings"})
    env.pop("SECRET_KEY", None)
    env.pop("FIELD_ENCRYPTION_KEY", None)
    if value is not None:
        env["BEACON_DISABLE_AFTER"] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
         "print(settings.BEACON_DISABLE_AFTER.total_seconds())"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(("value", "seconds"), [(None, 432000.0), ("36h", 129600.0)])
def test_the_setting_defaults_to_five_days(
    tmp_path: Path, value: str | None, seconds: float
) -> None:
    done = settings_with(tmp_path, value)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip().splitlines()[-1]) == seconds


def test_a_bad_setting_stops_start_up(tmp_path: Path) -> None:
    done = settings_with(tmp_path, "five days")
    assert done.returncode != 0
    assert "BEACON_DISABLE_AFTER must be a positive number of seconds" in done.stderr
