"""``GET /api/v1/ready`` for a load balancer: 200 when the database answers, the
migrations are applied and the broker is reachable; a 503 in the error shape,
naming what failed, otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from config import readiness
from tests.support.beacon_process import free_port


@pytest.fixture(autouse=True)
def fresh_readiness(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readiness, "_migrated", False)


def test_ready_needs_no_key_and_reports_each_check(db: Any) -> None:
    response = Client().get("/api/v1/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


def test_an_unapplied_migration_is_not_ready(db: Any) -> None:
    recorder = MigrationRecorder(connection)
    last = recorder.migration_qs.filter(app="teams").order_by("-id").first()
    last.delete()  # rolled back with the test's transaction

    response = Client().get("/api/v1/ready")

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["fields"] == {
        "migrations": ["1 migration(s) not applied: run `manage.py migrate`."]
    }


def test_an_unreachable_broker_is_not_ready(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django_q.conf import Conf

    # A Redis broker on a port where nothing listens.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")

    response = Client().get("/api/v1/ready")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["fields"] == {
        "broker": ["The queue broker is unreachable."]
    }


def test_ready_is_exempt_from_the_https_redirect(db: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert Client().get("/api/v1/ready").status_code == 200
    assert Client().get("/api/v1/health").status_code == 200
    assert Client().get("/login/").status_code == 301
