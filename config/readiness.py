"""``GET /api/v1/ready``: may a load balancer send this process traffic?

Ready means the database answers, every migration is applied, and the queue
broker (Redis, or the database for the ORM broker) is reachable. Not ready is a
503 in the API's error shape, naming each failed check under ``fields``.
``/api/v1/health`` stays the liveness probe (the database answers).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest
from ninja import Router, Status

logger = logging.getLogger(__name__)
router = Router(tags=["meta"])

_migrated = False  # once every migration is applied, it stays so for this process


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "The database does not answer."
    return None


def _migrations() -> str | None:
    global _migrated
    if _migrated:
        return None
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return "The migrations could not be read from the database."
    if pending:
        return f"{len(pending)} migration(s) not applied: run `manage.py migrate`."
    _migrated = True
    return None


def _broker() -> str | None:
    from django_q.brokers import get_broker

    try:
        if get_broker().ping() is False:
            return "The queue broker does not answer."
    except Exception:  # any client error means the same: tasks cannot be queued
        logger.warning("readiness: the queue broker is unreachable", exc_info=True)
        return "The queue broker is unreachable."
    return None


def failed_checks() -> dict[str, str]:
    failed: dict[str, str] = {}
    database = _database()
    if database:
        failed["database"] = database
        return failed  # the other checks need the database
    for name, check in (("migrations", _migrations), ("broker", _broker)):
        problem = check()
        if problem:
            failed[name] = problem
    return failed


@router.get("/ready", auth=None, response={200: dict, 503: dict},
            summary="Readiness for a load balancer")
def ready(request: HttpRequest) -> Status:
    """200 when the database answers, migrations are applied and the broker is
    reachable; 503 (error shape, failed checks under ``fields``) otherwise."""
    failed = failed_checks()
    if failed:
        message = "Beacon is not ready: " + " ".join(failed.values())
        return Status(503, {"error": {"code": "not_ready", "message": message,
                                      "fields": {k: [v] for k, v in failed.items()}}})
    return Status(200, {"status": "ready",
                        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"}})
