"""Benchmark: logging through the MLflow endpoint costs about what the native API does.

Run with ``make bench``. One ``log-batch`` of 100 metric rows through
``/mlflow/<team>/api/2.0/mlflow/runs/log-batch`` is timed against the same 100
rows through the native ``POST …/runs/<run>/history``, in the same process, on a
throw-away SQLite database, both through Django's full request handling
(middleware, authentication, the row lock, storage and the ``RUN_METRIC`` event).
The ratio must stay at or under 1.5.
"""

from __future__ import annotations

import json
import sys
import time

import _setup  # noqa: E402 (benchmarks/ is the script's folder)

_setup.setup("embedded")  # a throw-away SQLite database, migrated

from django.test import Client  # noqa: E402

from projects.models import Project, Run  # noqa: E402

ROWS = 100
REPEAT = 60
LIMIT = 1.5


def main() -> int:
    user, team, key = _setup.bench_member()
    project = Project.objects.create(team=team, name="main")
    native_run = Run.start(project, author=user, run_id="native")
    mlflow_run = Run.start(project, author=user, run_id="mlflow")
    client = Client(headers={"Authorization": f"Bearer {key}"})
    steps = {"native": 0, "mlflow": 0}

    def native() -> None:
        first = steps["native"]
        steps["native"] += ROWS
        body = {"rows": [{"step": first + i, "metrics": {"loss": 1.0 / (first + i + 1)}}
                         for i in range(ROWS)]}
        response = client.post(
            f"/api/v1/teams/bench/projects/main/runs/{native_run.run_id}/history",
            data=json.dumps(body), content_type="application/json",
        )
        assert response.status_code == 202, response.content

    def mlflow() -> None:
        first = steps["mlflow"]
        steps["mlflow"] += ROWS
        now = int(time.time() * 1000)
        body = {"run_id": mlflow_run.run_id, "metrics": [
            {"key": "loss", "value": 1.0 / (first + i + 1), "timestamp": now, "step": first + i}
            for i in range(ROWS)]}
        response = client.post(
            "/mlflow/bench/api/2.0/mlflow/runs/log-batch",
            data=json.dumps(body), content_type="application/json",
        )
        assert response.status_code == 200, response.content

    native_t, mlflow_t = _setup.alternating_medians(native, mlflow, REPEAT)
    ratio = mlflow_t / native_t
    print(_setup.row(f"MLflow log-batch of {ROWS} rows (time)", f"{mlflow_t * 1e3:.1f} ms",
                     f"native history post {native_t * 1e3:.1f} ms", ratio, f"(limit ≤ {LIMIT})"))
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
