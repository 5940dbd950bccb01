"""What a history post costs: a fixed number of queries whatever its size (up to one
INSERT of points), the run read once to find it and once more under its lock, and the
lock on the run's row alone — so that a concurrent post or change to the run is seen,
while posts to other runs of the same project never wait for it (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from automations.models import Event
from projects.models import MetricPoint, Run
from teams.models import ApiKey

HISTORY = "/teams/acme/projects/mnist/runs/r1/history"
# The key, the membership, the run, the run again under its lock, the points, the
# run's summary, the RUN_METRIC event, and the chunk's transaction (two savepoints
# here, inside the test's transaction): 11 — 12 once the event's task is queued in
# the same transaction on the ORM broker.
MAX_QUERIES = 12


def body(first: int, rows: int, metrics: int = 5) -> dict[str, Any]:
    return {"rows": [{"step": first + i, "metrics": {f"m{k}": i / (k + 1) for k in range(metrics)}}
                     for i in range(rows)]}


def post(api: Any, first: int, rows: int) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.post(HISTORY, json=body(first, rows))
    assert response.status_code == 202, response.content
    return [q["sql"] for q in captured.captured_queries]


@pytest.fixture
def run(project: Any, member: Any) -> Run:
    return Run.start(project, author=member, run_id="r1")


def test_a_history_post_costs_the_same_queries_for_10_and_200_rows(
    member_api: Any, run: Run
) -> None:
    post(member_api, 0, 1)  # warm: the key's last use is written once a minute

    small = post(member_api, 1, 10)
    large = post(member_api, 11, 200)  # 1,000 points: still one INSERT

    assert len(small) == len(large) <= MAX_QUERIES, large
    assert MetricPoint.objects.filter(run=run).count() == 5 + 50 + 1000


def test_the_run_is_read_to_find_it_then_under_its_lock_alone(member_api: Any, run: Run) -> None:
    post(member_api, 0, 1)

    queries = post(member_api, 1, 10)

    reads = [q for q in queries if q.startswith("SELECT") and 'FROM "projects_run"' in q]
    assert len(reads) == 2, reads
    found, locked = reads
    assert 'JOIN "projects_project"' in found  # the project named in the path, in one query
    assert "JOIN" not in locked  # FOR UPDATE would lock the project's and team's rows too
    if connection.features.has_select_for_update:
        assert locked.rstrip().endswith("FOR UPDATE")
    teams = [q for q in queries if q.startswith("SELECT") and 'FROM "teams_' in q]
    assert len(teams) == 2  # the key (with its user), the membership (with its team)


def test_a_post_racing_another_post_of_the_same_rows_writes_them_once(
    member_api: Any, run: Run, member: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another request stores the same rows after this one found the run, before it
    # takes the run's lock: under the lock, the rows are seen as stored.
    append = Run.append_history

    def race_then_append(self: Run, rows: Any, user: Any, **kw: Any) -> int:
        Run.objects.get(pk=self.pk).log_history(rows, member)
        return append(self, rows, user, **kw)

    monkeypatch.setattr(Run, "append_history", race_then_append)
    response = member_api.post(HISTORY, json=body(0, 10))

    assert response.status_code == 202
    assert MetricPoint.objects.filter(run=run).count() == 50
    assert Event.objects.filter(type="RUN_METRIC").count() == 1  # the other request's


def test_the_metric_event_names_the_run_as_it_is_under_the_lock(
    member_api: Any, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    append = Run.append_history

    def change_then_append(self: Run, rows: Any, user: Any, **kw: Any) -> int:
        Run.objects.get(pk=self.pk).update_info(display_name="renamed", tags=["late"])
        return append(self, rows, user, **kw)

    monkeypatch.setattr(Run, "append_history", change_then_append)
    assert member_api.post(HISTORY, json=body(0, 3)).status_code == 202

    data = Event.objects.get(type="RUN_METRIC").data["run"]
    assert (data["display_name"], data["tags"]) == ("renamed", ["late"])
    assert data["author"] == "mia" and data["url"].endswith("/t/acme/p/mnist/runs/r1/")


def test_a_missing_project_and_a_missing_run_are_told_apart(
    member_api: Any, run: Run
) -> None:
    no_project = member_api.post("/teams/acme/projects/nope/runs/r1/history", json=body(0, 1))
    no_run = member_api.post("/teams/acme/projects/mnist/runs/nope/history", json=body(0, 1))

    assert no_project.status_code == no_run.status_code == 404
    assert no_project.json()["error"]["message"] == "No project named nope in this team."
    assert no_run.json()["error"]["message"] == "No run nope in project mnist."


def test_a_revoked_key_is_refused_at_once(member_api: Any, run: Run) -> None:
    assert member_api.post(HISTORY, json=body(0, 1)).status_code == 202

    ApiKey.objects.get().revoke()

    assert member_api.post(HISTORY, json=body(1, 1)).status_code == 401
