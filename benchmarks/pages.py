"""Benchmark: pages and lists answer as fast at 2,000 runs as at 10.

Run with ``make bench``. Seeds a project of 2,000 runs × 200 steps × 5 metrics
(2,000,000 points, bulk-inserted) and one of 10 runs with the same history per
run, then times, through Django's full request handling (middleware, session or
API-key authentication, templates), alternately on the two projects:

- the project page (first page of runs, artifacts),
- a run's page (charts and the recent-rows table),
- the runs list API (first page),
- a run's history API (first page),

and prints each 2,000-run time against its 10-run baseline. Target: ratio ≤ 1.5.
Runs on a throw-away SQLite database; set ``BENCH_DATABASE_URL`` to a scratch
PostgreSQL database whose name contains "bench" (it is flushed) to measure that.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = tempfile.mkdtemp(prefix="beacon-bench-")
_scratch = os.environ.get("BENCH_DATABASE_URL", "")
if _scratch and "bench" not in _scratch.rsplit("/", 1)[-1]:
    sys.exit("BENCH_DATABASE_URL must name a scratch database with 'bench' in its name.")
os.environ["DATABASE_URL"] = _scratch or f"sqlite:///{_tmp}/bench.sqlite3"
os.environ.pop("REDIS_URL", None)
os.environ["BEACON_DATA_DIR"] = _tmp
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from _setup import alternating_medians, row  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from projects.bulk import seed_runs  # noqa: E402
from projects.models import Artifact, Project  # noqa: E402
from teams.models import ApiKey, Membership, Team  # noqa: E402

BIG, SMALL = 2000, 10
POINTS, METRICS = 200, 5
REPEAT = 25
LIMIT = 1.5


def seed() -> tuple[User, str]:
    if _scratch:
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench")
    team = Team.objects.create(slug="bench", name="Bench")
    Membership.objects.create(team=team, user=user, role="member")
    key = ApiKey.issue(user, "bench")[1]
    started = time.perf_counter()
    with transaction.atomic():
        for n in (BIG, SMALL):
            project = Project.objects.create(team=team, name=f"runs-{n}")
            seed_runs(project, n, points=POINTS, metrics=METRICS, author=user)
            for a in range(5):
                Artifact.log_version(project, name=f"data-{a}", type="dataset",
                                     digest=f"d{a}", metadata={}, aliases=["latest"],
                                     author=user)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  (seeded {BIG + SMALL} runs, {(BIG + SMALL) * POINTS * METRICS:,} points "
          f"in {time.perf_counter() - started:.1f} s, {connection.vendor})", file=sys.stderr)
    return user, key


def main() -> int:
    user, key = seed()
    browser = Client()
    browser.force_login(user)
    api = Client(headers={"Authorization": f"Bearer {key}"})

    def get(client: Client, path: str) -> Callable[[], object]:
        def call() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return call

    run = "run-00005"  # a run of the same history in both projects
    checks = {
        "project page": lambda n: get(browser, f"/t/bench/p/runs-{n}/"),
        "run page": lambda n: get(browser, f"/t/bench/p/runs-{n}/runs/{run}/"),
        "runs list API": lambda n: get(api, f"/api/v1/teams/bench/projects/runs-{n}/runs"),
        "history API": lambda n: get(
            api, f"/api/v1/teams/bench/projects/runs-{n}/runs/{run}/history"),
    }
    worst = 0.0
    for name, url_of in checks.items():
        small, big = alternating_medians(url_of(SMALL), url_of(BIG), REPEAT, warmup=3)
        ratio = big / small
        worst = max(worst, ratio)
        print(row(f"{name}, 2,000 runs × {POINTS} points × {METRICS} metrics (time, "
                  f"{connection.vendor})", f"{big * 1e3:.1f} ms", f"10 runs {small * 1e3:.1f} ms",
                  ratio, f"(limit ≤ {LIMIT})"))
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
