"""SQLite as an embedded database: WAL, a busy timeout and IMMEDIATE transactions on
every connection; the API rate-limit cache is shared by processes (issue 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite pragmas")
def test_every_sqlite_connection_uses_wal_and_waits_for_the_lock(db: None) -> None:
    with connection.cursor() as cursor:
        journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]

    assert journal == "wal"
    assert busy == 30_000
    assert connection.transaction_mode == "IMMEDIATE"


def settings_in_fresh_process(tmp_path: Path, code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.update({"BEACON_DATA_DIR": str(tmp_path / "data"),
                  "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import "
         f"settings; {code}"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout.strip()


def test_the_cache_is_files_without_redis_and_redis_with_it(tmp_path: Path) -> None:
    code = "c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'])"

    files = settings_in_fresh_process(tmp_path, code)
    redis = settings_in_fresh_process(tmp_path, code, REDIS_URL="redis://127.0.0.1:6379/9")
    pause = settings_in_fresh_process(
        tmp_path, "print(settings.BEACON_HISTORY_CHUNK_PAUSE)",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/x",
    )

    assert files == f"config.cache.FileCache {tmp_path}/data/cache"
    assert redis == "django.core.cache.backends.redis.RedisCache redis://127.0.0.1:6379/9"
    assert pause == "0.0"  # PostgreSQL locks rows: no pause between history chunks
