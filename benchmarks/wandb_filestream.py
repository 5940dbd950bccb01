"""Benchmark: a W&B ``file_stream`` post carrying 100 history rows, as a ratio to the
same 100 rows sent to the native history endpoint, on the same run, in one process.

Run with ``make bench``. Both go through the whole Django stack (a test client:
middleware, authentication, parsing, ``Run.log_history``, the ``RUN_METRIC`` event)
on a throw-away SQLite database. The two are interleaved so that both write into a
run of the same size. Target: a ratio at or under 1.5.
"""

from __future__ import annotations

import base64
import json

import _setup  # noqa: E402 (benchmarks/ is the script's folder)

_setup.setup("embedded")  # a throw-away SQLite database, migrated

from django.test import Client  # noqa: E402

from projects.models import Project, Run  # noqa: E402
from wandb_api.models import WandbRun  # noqa: E402

ROWS = 100
REPEAT = 60
METRICS = ("loss", "acc", "lr", "grad_norm")


def main() -> None:
    user, team, key = _setup.bench_member()
    project = Project.objects.create(team=team, name="main")
    run = Run.start(project, author=user, run_id="r1")
    WandbRun.objects.create(run=run)
    client = Client(ALLOWED_HOSTS=["testserver"])
    bearer = {"Authorization": f"Bearer {key}"}
    basic = {"Authorization": "Basic " + base64.b64encode(f"api:{key}".encode()).decode()}
    native_url = "/api/v1/teams/bench/projects/main/runs/r1/history"
    stream_url = "/wandb/files/bench/main/r1/file_stream"
    state = {"step": 0, "lines": 0}

    def values(step: int) -> dict[str, float]:
        return {m: 1.0 / (step + i + 1) for i, m in enumerate(METRICS)}

    def native() -> None:
        start = state["step"]
        rows = [{"step": s, "metrics": values(s)} for s in range(start, start + ROWS)]
        state["step"] += ROWS
        response = client.post(native_url, data=json.dumps({"rows": rows}),
                               content_type="application/json", headers=bearer)
        assert response.status_code == 202, response.content

    def stream() -> None:
        start = state["step"]
        lines = [json.dumps({"_step": s, "_runtime": 1.0, "_timestamp": 1.7e9, **values(s)})
                 for s in range(start, start + ROWS)]
        state["step"] += ROWS
        body = {"files": {"wandb-history.jsonl": {"offset": state["lines"], "content": lines}}}
        state["lines"] += ROWS
        response = client.post(stream_url, data=json.dumps(body),
                               content_type="application/json", headers=basic)
        assert response.status_code == 200, response.content

    base, measured = _setup.alternating_medians(native, stream, REPEAT)
    stored = run.metric_points.count()
    assert stored == state["step"] * len(METRICS), stored
    print(_setup.row("wandb file_stream post of 100 history rows (time)",
                     f"{measured * 1e3:.1f} ms", f"native history post {base * 1e3:.1f} ms",
                     measured / base, "(limit ≤ 1.5)"))


if __name__ == "__main__":
    main()
