"""A delivery's successful attempt recorded in one statement (PostgreSQL).

``dispatch.record_attempt`` writes the execution's new state, fenced on
``attempt_count``, and its Attempt in one transaction: on PostgreSQL three round
trips to the server (UPDATE, INSERT, COMMIT) through the ORM, the dearest part of a
delivery to a fast receiver. A data-modifying CTE does both in one statement, atomic
on its own: the INSERT reads the UPDATE's row, so nothing is written when the fence
fails. SQLite has no data-modifying CTE and no round trips: it keeps the ORM path.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection

from automations.models import Attempt, Execution


def supported() -> bool:
    return connection.vendor == "postgresql"


def without_waiting_for_disk() -> None:
    """Let this thread's PostgreSQL session commit without waiting for the WAL flush
    (``synchronous_commit = off``): a delivery thread's claims and records then cost
    no disk wait each. A database that crashes (not one that restarts) may lose the
    last fraction of a second of them, as a whole: those executions are still pending
    and are sent again with the same ``webhook-id`` (at-least-once), and no attempt
    is ever recorded twice."""
    if supported():
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")


@functools.cache
def _fields(model: type[Any], names: tuple[str, ...]) -> tuple[list[Any], list[str]]:
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in names]
    return fields, [quote(field.column) for field in fields]


def _columns(model: type[Any], values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Quoted column names and database values of ``values`` (field name → value)."""
    fields, columns = _fields(model, tuple(values))
    return columns, [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, values.values(), strict=True)
    ]


def record(execution_id: int, previous_count: int, state: dict[str, Any],
           attempt: dict[str, Any]) -> bool:
    """Set ``state`` on the execution if it is pending at ``previous_count`` attempts,
    and insert ``attempt`` for it, in one statement; False when the fence failed."""
    quote = connection.ops.quote_name
    set_columns, set_params = _columns(Execution, state)
    attempt_columns, attempt_params = _columns(Attempt, attempt)
    execution_table, attempt_table = (quote(Execution._meta.db_table),
                                      quote(Attempt._meta.db_table))
    sql = (
        f"WITH recorded AS (UPDATE {execution_table} SET "
        + ", ".join(f"{column} = %s" for column in set_columns)
        + f" WHERE {quote('id')} = %s AND {quote('status')} = %s"
        f" AND {quote('attempt_count')} = %s RETURNING {quote('id')})"
        f" INSERT INTO {attempt_table} ({quote('execution_id')}, "
        + ", ".join(attempt_columns)
        + ") SELECT recorded.id, " + ", ".join(["%s"] * len(attempt_columns))
        + " FROM recorded"
    )
    params = [*set_params, execution_id, Execution.Status.PENDING, previous_count,
              *attempt_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1
