"""Profile the history endpoint in one process (pyinstrument), for docs/profiles/.

    python benchmarks/profile_ingest.py [embedded|postgres] > docs/profiles/ingest-<config>.txt

Posts ``N`` history bodies of 100 rows × 5 metrics to one run through Django's test
client (the whole stack: middleware, API-key authentication, rate limit, validation,
the run lock, storage, summary, the ``RUN_METRIC`` event and its queueing), after a
few warm-up posts; prints the time per post, the queries of one post and
pyinstrument's call tree. ``PROFILE_POSTS`` sets how many posts are profiled.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

N, ROWS, METRICS, WARMUP = int(os.environ.get("PROFILE_POSTS", "100")), 100, 5, 5


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    _setup.setup(config)
    try:
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from pyinstrument import Profiler

        from projects.models import Project, Run

        user, team, key = _setup.bench_member()
        project = Project.objects.create(team=team, name="main")
        run = Run.start(project, author=user, run_id="profiled")
        client = Client(headers={"Authorization": f"Bearer {key}"})
        url = f"/api/v1/teams/bench/projects/main/runs/{run.run_id}/history"
        bodies = [
            json.dumps({"rows": [
                {"step": n * ROWS + i, "metrics": {f"m{k}": 1.0 / (n * ROWS + i + k + 1)
                                                   for k in range(METRICS)}}
                for i in range(ROWS)]})
            for n in range(WARMUP + N + 1)
        ]

        def post(body: str) -> None:
            r = client.post(url, data=body, content_type="application/json")
            assert r.status_code == 202, r.content

        for body in bodies[:WARMUP]:
            post(body)
        with CaptureQueriesContext(connection) as captured:
            post(bodies[WARMUP])
        queries = [q["sql"] for q in captured.captured_queries]  # read from the log: copy now
        profiler = Profiler(interval=0.0005)
        profiler.start()
        started = time.perf_counter()
        for body in bodies[WARMUP + 1:]:
            post(body)
        took = time.perf_counter() - started
        profiler.stop()
        print(f"# {config}: {N} history posts of {ROWS} rows x {METRICS} metrics in "
              f"{took:.3f}s ({took / N * 1e3:.2f} ms each), {len(queries)} queries each:")
        for sql in queries:
            print(f"#   {sql[:110]}")
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        _setup.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
