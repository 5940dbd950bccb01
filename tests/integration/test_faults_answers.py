"""A real server process with its broker or its database gone: saved writes answer
success, and what cannot be served answers the API's JSON error shape (issue 7)."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth.models import User

from automations.models import Event
from projects.models import Run
from teams.models import ApiKey
from tests.support.server import closed_port, running_server

pytestmark = pytest.mark.integration

RUNS = "/api/v1/teams/acme/projects/mnist/runs"


def assert_json_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert "Traceback" not in response.text
    return error


def test_writes_answer_success_while_redis_is_down(
    transactional_db: Any, member: User, project: Any
) -> None:
    key = ApiKey.issue(member, "ci")[1]
    auth = {"Authorization": f"Bearer {key}"}
    rows = [{"step": s, "metrics": {"loss": 1 / (s + 1)}} for s in range(100)]

    with running_server({"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"}) as server:
        created = requests.post(server.url + RUNS, json={"id": "r1"}, headers=auth, timeout=60)
        logged = requests.post(server.url + f"{RUNS}/r1/history", json={"rows": rows},
                               headers=auth, timeout=60)
        # A client that did not trust the answer retries: both are recognised.
        created_again = requests.post(server.url + RUNS, json={"id": "r1"}, headers=auth,
                                      timeout=60)
        logged_again = requests.post(server.url + f"{RUNS}/r1/history", json={"rows": rows},
                                     headers=auth, timeout=60)
        health = requests.get(server.url + "/api/v1/health", timeout=60)
        log = server.log

    assert (created.status_code, logged.status_code) == (201, 202), (created.text, log)
    assert (created_again.status_code, logged_again.status_code) == (200, 202)
    assert health.status_code == 503 and health.json()["status"] == "degraded"
    assert Run.objects.get(run_id="r1").metric_points.count() == 100
    # Saved and waiting for the sweep: nothing was processed, nothing was lost.
    assert sorted(Event.objects.values_list("type", flat=True)) == ["RUN_METRIC", "RUN_STATE"]
    assert not Event.objects.filter(processed_at__isnull=False).exists()
    assert "the sweep will queue it later" in log


def test_every_api_answer_is_json_while_the_database_is_down(transactional_db: Any) -> None:
    down = f"postgres://postgres@127.0.0.1:{closed_port()}/beacon"
    auth = {"Authorization": "Bearer bk_whatever"}

    with running_server({"DATABASE_URL": down}, workers=1, threads=2) as server:
        answers = {
            "viewer": requests.get(server.url + "/api/v1/viewer", headers=auth, timeout=60),
            "run": requests.post(server.url + RUNS, json={"id": "r1"}, headers=auth, timeout=60),
            "health": requests.get(server.url + "/api/v1/health", timeout=60),
        }
        unknown = requests.get(server.url + "/api/v1/nowhere", headers=auth, timeout=60)

    for name, response in answers.items():
        assert assert_json_error(response, 503, "unavailable"), name
    assert answers["viewer"].headers["Retry-After"] == "5"
    assert_json_error(unknown, 404, "not_found")
