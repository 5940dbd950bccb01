"""An API key records its last use at most once a minute: authenticated reads do
not write (on SQLite every write waits for the one write lock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from teams.models import ApiKey


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


def test_reads_write_the_last_use_at_most_once_a_minute(api_for: Any, member: Any) -> None:
    api = api_for(member)
    key = ApiKey.objects.get(user=member)
    assert key.last_used_at is None

    with CaptureQueriesContext(connection) as first:
        assert api.get("/viewer").status_code == 200
    used = ApiKey.objects.get(pk=key.pk).last_used_at
    with CaptureQueriesContext(connection) as later:
        for _ in range(5):
            assert api.get("/viewer").status_code == 200

    assert len(writes(first)) == 1 and used is not None
    assert writes(later) == []
    assert ApiKey.objects.get(pk=key.pk).last_used_at == used

    # A minute later the next request records it again.
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=used - timedelta(seconds=61))
    assert api.get("/viewer").status_code == 200
    assert ApiKey.objects.get(pk=key.pk).last_used_at > used


def test_the_update_is_conditional_so_racing_processes_write_once(member: Any) -> None:
    key, plaintext = ApiKey.issue(member)
    stale = ApiKey.objects.get(pk=key.pk)  # loaded before another process touched it
    ApiKey.authenticate(plaintext)
    recorded = ApiKey.objects.get(pk=key.pk).last_used_at

    with CaptureQueriesContext(connection) as queries:
        stale.touch()  # its copy says "never used": it tries, and the WHERE refuses

    assert ApiKey.objects.get(pk=key.pk).last_used_at == recorded
    assert len(writes(queries)) == 1  # one conditional UPDATE that changed no row
