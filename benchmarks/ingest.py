"""Benchmark: history ingest through the real endpoint against a bare endpoint.

    python benchmarks/ingest.py embedded    # temp SQLite + ORM broker
    python benchmarks/ingest.py postgres    # DATABASE_URL (PostgreSQL) + REDIS_URL

``POST /api/v1/teams/<team>/projects/<project>/runs/<run>/history`` with 100 rows ×
5 metrics (authentication, validation, the run lock, storage, summary, the
``RUN_METRIC`` event and its queueing) is timed against a bare view served by the
same Django stack (same middleware, same database) that only parses the body and
inserts the same 500 points in one statement (``ingest_urls.py``: only this
benchmark serves it). Twice: in process, through Django's test client (Beacon's
own cost, no HTTP), and through the real server, gunicorn with one web process,
over HTTP on loopback (what a client sees). Target: the endpoint reaches ≥ 0.5 of
the bare one's rate.

On PostgreSQL + Redis it also runs the real server, gunicorn with
``config/gunicorn_conf.py`` as ``manage.py serve`` runs it, with 1 and then 2 web
processes (``WEB_CONCURRENCY``), and drives it from ``WEB_CLIENTS`` threads, each
with its own ``requests.Session`` and run, posting the same bodies: posts/s of 2
against 1 (target ≥ 1.7 where the machine has the cores for 2 web processes, the
load generator and PostgreSQL; the row says how many it has).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

ROWS, METRICS, REPEAT = 100, 5, 40
TARGET = 0.5
# 1 vs 2 web processes: timed posts per configuration (after WEB_WARMUP per client).
WEB_POSTS, WEB_CLIENTS, WEB_WARMUP = 120, 4, 3
WEB_TARGET = 1.7
WEB_TIMEOUT = 60.0  # seconds for one configuration's posts: a stuck server fails the row


def history_body(first: int) -> str:
    return json.dumps({"rows": [
        {"step": first + i, "metrics": {f"m{k}": 1.0 / (first + i + k + 1) for k in range(METRICS)}}
        for i in range(ROWS)]})


def next_bodies() -> Callable[[str], str]:
    """Bodies for consecutive posts per target (``"real"``, ``"bare"``): each
    continues its run's steps."""
    steps: dict[str, int] = {}

    def next_body(which: str) -> str:
        first = steps.get(which, 0)
        steps[which] = first + ROWS
        return history_body(first)

    return next_body


def ingest_row(how: str, config: str, real_t: float, bare_t: float) -> list[str]:
    """Print the row of the endpoint against the bare one, posted ``how``; the
    names of targets missed."""
    ratio = bare_t / real_t
    print(_setup.row(
        f"history posts/s, {ROWS} rows × {METRICS} metrics, {how}, {config}",
        f"{1 / real_t:.0f}/s ({real_t * 1e3:.1f} ms)",
        f"bare parse + bulk insert {1 / bare_t:.0f}/s ({bare_t * 1e3:.1f} ms)",
        ratio, f"(target ≥ {TARGET})"))
    return [] if ratio >= TARGET else [f"ingest ratio {how}"]


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    if config == "postgres" and not _setup.postgres_available():
        print("| ingest on PostgreSQL + Redis | skipped: DATABASE_URL/REDIS_URL not set | | |")
        return 0
    _setup.setup(config)
    try:
        from django.test import Client, override_settings

        from projects.models import Project, Run

        user, team, key = _setup.bench_member()
        project = Project.objects.create(team=team, name="main")
        real_run = Run.start(project, author=user, run_id="real")
        bare_run = Run.start(project, author=user, run_id="bare")
        client = Client(headers={"Authorization": f"Bearer {key}"})
        body = next_bodies()

        def real() -> None:
            r = client.post(f"/api/v1/teams/bench/projects/main/runs/{real_run.run_id}/history",
                            data=body("real"), content_type="application/json")
            assert r.status_code == 202, r.content

        def bare() -> None:
            r = client.post(f"/bench/bare/{bare_run.pk}", data=body("bare"),
                            content_type="application/json")
            assert r.status_code == 202, r.content

        with override_settings(ROOT_URLCONF="ingest_urls"):
            # alternately: a busy machine slows both alike
            real_t, bare_t = _setup.alternating_medians(real, bare, REPEAT)
        failures = ingest_row("in process (Django test client)", config, real_t, bare_t)
        failures += served_row(config, project, user, key, bare_run.pk)
        if config == "postgres":
            failures += web_processes_row(project, user, key)
        if failures:
            print(f"  (below target: {', '.join(failures)})", file=sys.stderr)
    finally:
        _setup.teardown()
    return 0


def served_row(config: str, project: Any, user: Any, key: str, bare_pk: int) -> list[str]:
    """The same comparison through the real server: gunicorn (1 web process, as
    ``manage.py serve`` starts it) over HTTP on loopback, posted by one
    ``requests.Session`` alternately to both endpoints. The names of targets missed."""
    import requests

    from projects.models import Run

    run_id = Run.start(project, author=user, run_id="served").run_id
    body = next_bodies()
    with web_server(1) as url, requests.Session() as session:
        session.headers.update({"Authorization": f"Bearer {key}",
                                "Content-Type": "application/json"})

        def post(path: str, which: str) -> None:
            r = session.post(f"{url}{path}", data=body(which).encode(), timeout=WEB_TIMEOUT)
            if r.status_code != 202:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:300]}")

        real_t, bare_t = _setup.alternating_medians(
            lambda: post(f"/api/v1/teams/bench/projects/main/runs/{run_id}/history", "real"),
            lambda: post(f"/bench/bare/{bare_pk}", "bare"),
            REPEAT,
        )
    return ingest_row("gunicorn (1 web process, HTTP on loopback)", config, real_t, bare_t)


@contextmanager
def web_server(workers: int) -> Iterator[str]:
    """gunicorn as ``manage.py serve`` starts it, with ``workers`` processes, on this
    benchmark's database, with the bare endpoint beside Beacon's URLs; its URL.
    Stopped (its whole process group) on exit, and the queue of its posts'
    ``RUN_METRIC`` tasks (no cluster runs here) dropped."""
    from django_q.brokers import get_broker

    from tests.support.qcluster import child_env, stop_group
    from tests.support.server import closed_port

    queue = f"beacon-bench-web-{os.getpid()}-{workers}"
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    env = child_env({"WEB_CONCURRENCY": str(workers), "BEACON_BASE_URL": url,
                     "Q_CLUSTER_NAME": queue, "LOG_LEVEL": "WARNING",
                     "DJANGO_SETTINGS_MODULE": "ingest_settings",
                     "PYTHONPATH": os.pathsep.join([str(_setup.ROOT / "benchmarks"),
                                                    str(_setup.ROOT)])})
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(_setup.ROOT / "config/gunicorn_conf.py"),
             "--bind", f"127.0.0.1:{port}", "config.wsgi:application"],
            cwd=_setup.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_http(url, process, log)
            yield url
        finally:
            stop_group(process, timeout=20)
            get_broker(queue).delete_queue()


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Any) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n"
                             f"{log.read()[-3000:].decode(errors='replace')}")
        try:
            requests.get(f"{url}/api/v1/health", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def web_rate(workers: int, project: Any, user: Any, key: str) -> float:
    """History posts/s of the real server with ``workers`` web processes, posted by
    ``WEB_CLIENTS`` threads at once, each to a run of its own."""
    import requests

    from projects.models import Run

    runs = [Run.start(project, author=user, run_id=f"web{workers}-{c}").run_id
            for c in range(WEB_CLIENTS)]
    per_client = WEB_POSTS // WEB_CLIENTS
    bodies = [[history_body(n * ROWS).encode() for n in range(WEB_WARMUP + per_client)]
              for _ in runs]
    start = threading.Barrier(WEB_CLIENTS + 1)
    done: list[float] = []
    errors: list[str] = []

    def client(url: str, run_id: str, posts: list[bytes]) -> None:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {key}",
                                "Content-Type": "application/json"})
        path = f"{url}/api/v1/teams/bench/projects/main/runs/{run_id}/history"
        try:
            for n, data in enumerate(posts):
                if n == WEB_WARMUP:
                    start.wait(WEB_TIMEOUT)
                r = session.post(path, data=data, timeout=WEB_TIMEOUT)
                if r.status_code != 202:
                    raise RuntimeError(f"{r.status_code} {r.text[:300]}")
        except Exception as exc:  # reported below; the barrier lets the others go on
            errors.append(f"{type(exc).__name__}: {exc}")
            start.abort()
        finally:
            done.append(time.perf_counter())
            session.close()

    with web_server(workers) as url:
        threads = [threading.Thread(target=client, args=(url, r, b), daemon=True)
                   for r, b in zip(runs, bodies, strict=True)]
        for thread in threads:
            thread.start()
        try:
            start.wait(WEB_TIMEOUT)  # every client warmed up (both workers loaded)
        except threading.BrokenBarrierError:
            pass
        started = time.perf_counter()
        for thread in threads:
            thread.join(WEB_TIMEOUT)
    if errors or len(done) < WEB_CLIENTS:
        raise SystemExit(f"{workers} web process(es): {errors or 'clients did not finish'}")
    return per_client * WEB_CLIENTS / (max(done) - started)


def web_processes_row(project: Any, user: Any, key: str) -> list[str]:
    """The 1 vs 2 web processes row; the names of targets missed."""
    cores = os.cpu_count() or 1
    one = web_rate(1, project, user, key)
    two = web_rate(2, project, user, key)
    ratio = two / one
    print(_setup.row(
        f"history posts/s, {ROWS} rows × {METRICS} metrics, 2 vs 1 web processes "
        f"(gunicorn, {WEB_CLIENTS} client threads, {cores} cores), postgres",
        f"{two:.1f}/s", f"1 web process {one:.1f}/s", ratio, f"(target ≥ {WEB_TARGET})"))
    needed = 2 + 1  # two web processes and the load generator, besides PostgreSQL itself
    if cores < needed:
        print(f"  (note: {cores} cores for 2 web processes, the load generator and PostgreSQL "
              f"and anything else running here: they share cores, so this ratio measures "
              f"contention as much as scale-out; the {WEB_TARGET} target is for machines "
              f"with ≥ {needed + 1} cores)", file=sys.stderr)
        return []
    return [] if ratio >= WEB_TARGET else ["web processes ratio"]


if __name__ == "__main__":
    sys.exit(main())
