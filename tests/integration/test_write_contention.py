"""Two 10,000-row × 20-metric history posts and run creation at once, against a
real server process (gunicorn, 3 workers × 4 threads) and a real worker (qcluster)
on this run's database — the SQLite file by default, where there is one writer at a
time (issue 7).

Measured: every answer's status and the latency of the small requests (start a
run, read the viewer, read a run) made while the two uploads are written. Each
upload is written in chunks of ``BEACON_HISTORY_CHUNK_POINTS`` values, one short
transaction each, and authenticated reads write nothing, so small requests wait at
most about one chunk. The bound asserted is generous for a busy 2-core machine
(the uploads' JSON parsing competes for the same cores); the test prints what it
measured.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connection
from django_q.models import Task

from automations.models import Event
from projects.models import MetricPoint, Run
from teams.models import ApiKey
from tests.support.qcluster import running_qcluster, wait_until_quiet
from tests.support.server import running_server

pytestmark = pytest.mark.integration

RUNS = "/api/v1/teams/acme/projects/mnist/runs"
ROWS, METRICS = 10_000, 20
# A small request waiting longer is a stall (one transaction per upload made them
# wait up to 25 s). Measured on a shared 2-core machine: at load 2.5–3, median
# 0.015 s, 95th percentile 0.1–0.17 s, max 0.2–0.5 s; at load 5–6.5 (with the
# worker processing the events too), median 0.04–0.05 s, 95th 0.4–0.6 s, max
# 0.7–1.25 s (CPU more than the lock: two uploads parse 4 MB of JSON each).
# Without a pause between chunks the max was 2.6 s at load 3 (SQLite does not queue
# waiting writers).
# Asserted: 95 % of them within a second, and none over STALL_LIMIT (a margin for a
# CPU-starved moment on a shared machine; lock starvation showed 2.6–11 s).
STALL_LIMIT = 2.0
# PostgreSQL locks rows, so nothing waits for a lock there; but a small write's commit
# waits for the WAL flushes of the uploads on a shared disk (measured max 1.3–1.9 s
# at load 4–5). Checked for errors and gross stalls only.
POSTGRES_STALL_LIMIT = 5.0
UPLOAD_TIMEOUT = 600


def history_body() -> bytes:
    rows = [
        {"step": s, "metrics": {f"metric_{i}": (s * (i + 1)) % 997 / 7 for i in range(METRICS)}}
        for s in range(ROWS)
    ]
    return json.dumps({"rows": rows}).encode()


def test_two_large_uploads_do_not_stall_or_fail_other_requests(
    transactional_db: Any, member: User, project: Any
) -> None:
    upload_keys = [ApiKey.issue(member, f"upload-{i}")[1] for i in range(2)]
    probe_key = ApiKey.issue(member, "probe")[1]
    body = history_body()
    uploads: dict[str, tuple[int, float]] = {}
    probes: list[tuple[str, int, float]] = []

    with running_qcluster() as cluster, running_server({"Q_CLUSTER_NAME": cluster.name}) as server:

        def upload(run_id: str, key: str) -> None:
            started = time.monotonic()
            response = requests.post(
                f"{server.url}{RUNS}/{run_id}/history", data=body, timeout=UPLOAD_TIMEOUT,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            uploads[run_id] = (response.status_code, time.monotonic() - started)

        def probe(session: requests.Session, name: str, method: str, path: str,
                  **kw: Any) -> None:
            started = time.monotonic()
            response = session.request(method, server.url + path, timeout=120, **kw)
            probes.append((name, response.status_code, time.monotonic() - started))

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {probe_key}"
        for run_id in ("big-1", "big-2"):
            probe(session, "warm-up", "POST", RUNS, json={"id": run_id})
        probe(session, "warm-up", "GET", "/api/v1/viewer")
        probes.clear()
        threads = [
            threading.Thread(target=upload, args=(f"big-{i + 1}", key))
            for i, key in enumerate(upload_keys)
        ]
        for thread in threads:
            thread.start()
        n = 0
        while any(t.is_alive() for t in threads):
            n += 1
            probe(session, "start run", "POST", RUNS, json={"id": f"probe-{n}"})
            probe(session, "viewer", "GET", "/api/v1/viewer")
            probe(session, "read run", "GET", f"{RUNS}/probe-{n}")
            time.sleep(0.05)
        for thread in threads:
            thread.join(timeout=UPLOAD_TIMEOUT)
        log = server.log
        # The worker processed every event meanwhile, without failing a task.
        wait_until_quiet(timeout=240)
        worker_log = cluster.log

    latencies = sorted(latency for _, _, latency in probes)
    print(
        f"\nuploads (status, seconds): {uploads}\n"
        f"{len(probes)} small requests during the uploads: "
        f"median {statistics.median(latencies):.3f} s, "
        f"95th {latencies[int(len(latencies) * 0.95)]:.3f} s, max {latencies[-1]:.3f} s"
    )
    assert {status for status, _ in uploads.values()} == {202}, (uploads, log[-3000:])
    bad = [(name, status) for name, status, _ in probes if status >= 300]
    assert not bad, (bad, log[-3000:])
    assert "database is locked" not in log + worker_log
    assert not Task.objects.filter(success=False).exists(), worker_log[-3000:]
    assert Event.objects.filter(type="RUN_METRIC").count() >= 2 * ROWS * METRICS // 5000
    assert len(probes) >= 6, "the uploads finished before any request could race them"
    limit = STALL_LIMIT if connection.vendor == "sqlite" else POSTGRES_STALL_LIMIT
    slow = [(name, round(latency, 2)) for name, _, latency in probes if latency > limit]
    assert not slow, slow
    if connection.vendor == "sqlite":
        assert latencies[int(len(latencies) * 0.95)] <= 1.0, latencies[-20:]
    assert MetricPoint.objects.count() == 2 * ROWS * METRICS
    assert Run.objects.filter(run_id__startswith="probe-").count() == n
    for run_id in ("big-1", "big-2"):
        run = Run.objects.get(run_id=run_id)
        assert run.last_step == ROWS - 1 and len(run.summary) == METRICS
