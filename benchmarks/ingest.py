"""Benchmark: history ingest through the real endpoint against a bare endpoint.

    python benchmarks/ingest.py embedded    # temp SQLite + ORM broker
    python benchmarks/ingest.py postgres    # DATABASE_URL (PostgreSQL) + REDIS_URL

``POST /api/v1/teams/<team>/projects/<project>/runs/<run>/history`` with 100 rows ×
5 metrics (authentication, validation, the run lock, storage, summary, the
``RUN_METRIC`` event and its queueing) is timed against a bare view served by the
same Django stack (same middleware, same database) that only parses the body and
inserts the same 500 points in one statement. The bare view exists only in this
benchmark's URLconf. Target: the endpoint reaches ≥ 0.5 of the bare one's rate.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _setup  # noqa: E402

ROWS, METRICS, REPEAT = 100, 5, 40
TARGET = 0.5


def bench_urls() -> str:
    """A URLconf: the product's URLs plus the bare view (under this benchmark only)."""
    from django.db import transaction
    from django.http import HttpRequest, JsonResponse
    from django.urls import include, path
    from django.utils import timezone
    from django.views.decorators.csrf import csrf_exempt

    from projects.models import MetricPoint

    @csrf_exempt
    def bare(request: HttpRequest, run_pk: int) -> JsonResponse:
        rows = json.loads(request.body)["rows"]
        points = [(k, int(r["step"]), float(v)) for r in rows for k, v in r["metrics"].items()]
        with transaction.atomic():
            MetricPoint.insert(run_pk, points, timezone.now())
        return JsonResponse({"accepted": len(rows)}, status=202)

    module = types.ModuleType("bench_ingest_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/bare/<int:run_pk>", bare),
        path("", include("config.urls")),
    ]
    sys.modules[module.__name__] = module
    return module.__name__


def main() -> int:
    config = sys.argv[1] if len(sys.argv) > 1 else "embedded"
    if config == "postgres" and not _setup.postgres_available():
        print("| ingest on PostgreSQL + Redis | skipped: DATABASE_URL/REDIS_URL not set | | |")
        return 0
    _setup.setup(config)
    try:
        from django.contrib.auth.models import User
        from django.test import Client, override_settings

        from projects.models import Project, Run
        from teams.models import ApiKey, Membership, Team

        user = User.objects.create_user("bench")
        team = Team.objects.create(slug="bench", name="Bench")
        Membership.objects.create(team=team, user=user, role="member")
        key = ApiKey.issue(user, "bench")[1]
        project = Project.objects.create(team=team, name="main")
        real_run = Run.start(project, author=user, run_id="real")
        bare_run = Run.start(project, author=user, run_id="bare")
        client = Client(headers={"Authorization": f"Bearer {key}"})
        steps = {"real": 0, "bare": 0}

        def body(which: str) -> str:
            first = steps[which]
            steps[which] += ROWS
            return json.dumps({"rows": [
                {"step": first + i, "metrics": {f"m{k}": 1.0 / (first + i + k + 1)
                                                for k in range(METRICS)}}
                for i in range(ROWS)]})

        def real() -> None:
            r = client.post(f"/api/v1/teams/bench/projects/main/runs/{real_run.run_id}/history",
                            data=body("real"), content_type="application/json")
            assert r.status_code == 202, r.content

        def bare() -> None:
            r = client.post(f"/bench/bare/{bare_run.pk}", data=body("bare"),
                            content_type="application/json")
            assert r.status_code == 202, r.content

        with override_settings(ROOT_URLCONF=bench_urls()):
            # alternately: a busy machine slows both alike
            real_t, bare_t = _setup.alternating_medians(real, bare, REPEAT)
        ratio = bare_t / real_t
        print(_setup.row(
            f"history posts/s, {ROWS} rows × {METRICS} metrics, {config}",
            f"{1 / real_t:.0f}/s ({real_t * 1e3:.1f} ms)",
            f"bare parse + bulk insert {1 / bare_t:.0f}/s ({bare_t * 1e3:.1f} ms)",
            ratio, f"(target ≥ {TARGET})"))
        if ratio < TARGET:
            print("below target: ingest ratio")
    finally:
        _setup.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
