"""Benchmark: delivery throughput of a real qcluster against a plain requests loop.

    python benchmarks/delivery.py embedded    # temp SQLite + ORM broker
    python benchmarks/delivery.py postgres    # DATABASE_URL (PostgreSQL) + REDIS_URL

A burst of ``N`` failed runs (one transaction, so the ``RUN_STATE`` events reach the
queue together) with a webhook automation to one loopback keep-alive receiver,
processed and delivered by a real ``manage.py qcluster``; the clock runs from the
commit until the receiver holds every message. The baseline posts the same bodies
to the same receiver from one ``requests.Session`` in a loop.

On PostgreSQL + Redis it also compares 1 and 2 worker processes on a burst spread
over 8 destinations (one destination is served one delivery at a time:
``BEACON_DELIVERY_PER_DESTINATION``), and checks that metric events of history posts
on a run with 10 metric automations are processed as fast as they are ingested.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

N = int(os.environ.get("BENCH_DELIVERIES", "300"))
TARGETS = {"embedded": 0.1, "postgres": 0.25}


def seed() -> tuple[object, object, object]:
    from django.contrib.auth.models import User

    from projects.models import Project
    from teams.models import ApiKey, Membership, Team

    user = User.objects.create_user("bench")
    team = Team.objects.create(slug="bench", name="Bench")
    Membership.objects.create(team=team, user=user, role="member")
    ApiKey.issue(user, "bench")
    project = Project.objects.create(team=team, name="main")
    return user, team, project


def burst(receiver: _setup.CountingReceiver, env: dict[str, str], destinations: int,
          count: int, tag: str) -> float:
    """Deliveries per second of one burst of ``count`` failed runs through a new cluster."""
    from django.db import transaction
    from django.db.models import Max
    from django.utils import timezone
    from django_q.conf import Conf

    from automations.models import Event
    from projects.models import Project, Run
    from teams.models import Team
    from tests.support.factories import make_automation, make_webhook
    from tests.support.qcluster import start_qcluster

    team = Team.objects.get(slug="bench")
    user = team.memberships.first().user
    projects = []
    for d in range(destinations):
        project = Project.objects.create(team=team, name=f"{tag}-{d}")
        hook = make_webhook(team, receiver.url(f"/{tag}/{d}"), name=f"{tag}-{d}")
        make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]},
                        name=f"{tag}-{d}")
        projects.append(project)
    cluster = start_qcluster({"LOG_LEVEL": "INFO", **env})
    Conf.CLUSTER_NAME = cluster.name
    try:
        cluster.wait_ready(60)
        receiver.reset()
        time.sleep(1.0)  # the workers' pollers and runtimes come up
        with transaction.atomic():
            for n in range(count):
                run = Run.start(projects[n % destinations], author=user, run_id=f"{tag}-{n}")
                run.set_state("failed", user)
            started = time.perf_counter()
            committed = timezone.now()
        if not receiver.wait_for(count, timeout=300):
            raise SystemExit(f"{tag}: only {len(receiver.ids)}/{count} delivered:\n"
                             f"{cluster.log[-3000:]}")
        elapsed = time.perf_counter() - started
        last = Event.objects.filter(type="RUN_STATE", project__in=projects).aggregate(
            last=Max("processed_at"))["last"]
        print(f"  ({tag}: events processed {(last - committed).total_seconds():.1f}s, "
              f"all delivered {elapsed:.1f}s after the commit)", file=sys.stderr)
        duplicates = sum(receiver.ids.values()) - len(receiver.ids)
        if duplicates:
            raise SystemExit(f"{tag}: {duplicates} duplicate(s) without any fault")
        return count / elapsed
    finally:
        cluster.stop()
        cluster.log_path.unlink(missing_ok=True)


def loop_rate(receiver: _setup.CountingReceiver, repeat: int = 3) -> float:
    """The same bodies, posted to the same receiver by one requests.Session: the best
    rate of ``repeat`` loops (one loop of a few hundred posts lasts under a second: the
    best is the least disturbed by the rest of the machine, and the hardest baseline)."""
    import requests

    bodies = list(receiver.bodies)
    session = requests.Session()
    url = receiver.url("/loop")
    rates = []
    for attempt in range(repeat):
        started = time.perf_counter()
        for n, body in enumerate(bodies):
            r = session.post(url, data=body, headers={
                "Content-Type": "application/json", "webhook-id": f"loop-{attempt}-{n}"},
                timeout=10)
            r.raise_for_status()
        rates.append(len(bodies) / (time.perf_counter() - started))
    return max(rates)


def metric_backlog(env: dict[str, str]) -> tuple[str, bool]:
    """History posts (10 rows × 5 metrics, ``BENCH_METRIC_RATE`` posts/s, default 10, for
    10 s) on a run with 10 metric automations: the unprocessed-event backlog must not
    grow while ingest goes on."""
    from django.test import Client
    from django_q.conf import Conf

    from automations.models import Event
    from projects.models import Project, Run
    from teams.models import ApiKey, Team
    from tests.support.factories import make_automation, make_webhook
    from tests.support.qcluster import start_qcluster

    team = Team.objects.get(slug="bench")
    user = team.memberships.first().user
    project = Project.objects.create(team=team, name="metrics")
    hook = make_webhook(team, "http://127.0.0.1:9/never", name="metrics-hook")
    for m in range(10):
        make_automation(project, hook, event_type="RUN_METRIC_THRESHOLD", name=f"m{m}",
                        filter={"metric": f"m{m % 5}", "window": 5, "agg": "avg",
                                "cmp": "gt", "threshold": 10.0})
    key = ApiKey.issue(user, "metrics")[1]
    client = Client(headers={"Authorization": f"Bearer {key}"})
    cluster = start_qcluster({"LOG_LEVEL": "INFO", **env})
    Conf.CLUSTER_NAME = cluster.name  # before the run starts: its event goes to this queue
    backlog: list[int] = []
    try:
        cluster.wait_ready(60)
        run = Run.start(project, author=user, run_id="metrics")
        url = f"/api/v1/teams/bench/projects/metrics/runs/{run.run_id}/history"
        rate, seconds, rows = int(os.environ.get("BENCH_METRIC_RATE", "10")), 10, 10
        started = time.monotonic()
        for n in range(rate * seconds):
            body = {"rows": [{"step": n * rows + i, "metrics": {f"m{k}": 0.5 for k in range(5)}}
                             for i in range(rows)]}
            r = client.post(url, data=_setup.dumps(body), content_type="application/json")
            assert r.status_code == 202, r.content
            if n % rate == rate - 1:
                backlog.append(Event.objects.filter(processed_at__isnull=True).count())
            time.sleep(max(0.0, started + (n + 1) / rate - time.monotonic()))
        drain_started = time.monotonic()
        while Event.objects.filter(processed_at__isnull=True).exists():
            if time.monotonic() - drain_started > 60:
                break
            time.sleep(0.1)
        drained = time.monotonic() - drain_started
    finally:
        cluster.stop()
        cluster.log_path.unlink(missing_ok=True)
    half = len(backlog) // 2
    keeps_up = max(backlog[half:]) <= max(2, max(backlog[:half])) and drained < 5
    return (f"backlog each second {backlog}, drained {drained:.1f}s after the last post "
            f"({rate * rows} rows/s × 5 metrics)"), keeps_up


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    if config == "postgres" and not _setup.postgres_available():
        print("| delivery on PostgreSQL + Redis | skipped: DATABASE_URL/REDIS_URL not set | | |")
        return 0
    _setup.setup(config)
    receiver = _setup.CountingReceiver()
    failures = []
    try:
        seed()
        env = {"BEACON_WORKERS": "2"}
        beacon = burst(receiver, env, 1, N, "one")
        loop = loop_rate(receiver)
        ratio = beacon / loop
        target = TARGETS[config]
        print(_setup.row(f"deliveries/s, burst of {N} failed runs, 1 destination, 2 workers, "
                         f"{config}", f"{beacon:.1f}/s", f"requests.Session loop {loop:.0f}/s",
                         ratio, f"(target ≥ {target})"))
        if ratio < target:
            failures.append("delivery ratio")
        if config == "postgres":
            one = burst(receiver, {"BEACON_WORKERS": "1"}, 8, N, "w1")
            two = burst(receiver, {"BEACON_WORKERS": "2"}, 8, N, "w2")
            print(_setup.row(f"deliveries/s, burst of {N} over 8 destinations, 2 vs 1 worker "
                             f"processes ({os.cpu_count()} cores)", f"{two:.1f}/s",
                             f"1 worker {one:.1f}/s", two / one, "(target ≥ 1.7)"))
        text, keeps_up = metric_backlog(env)
        print(_setup.row(f"metric events, 10 metric automations, {config}",
                         "keeps up" if keeps_up else "FALLS BEHIND", text, None))
        if not keeps_up:
            failures.append("metric backlog")
    finally:
        receiver.stop()
        _setup.teardown()
    if failures:
        print(f"  (below target: {', '.join(failures)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
