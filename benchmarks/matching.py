"""Benchmark: matching and metric evaluation cost must not grow with unrelated data.

Run with ``make bench``. Each measurement is reported as a ratio against a
baseline measured in the same run, on a throw-away SQLite database:

1. matching a RUN_STATE event with 5 automations in its project, before and after
   adding thousands of automations to other projects and of other event types;
2. evaluating a RUN_METRIC event that logged one new point, on a run with a short
   history and on a run with a long one (the evaluator reads only the tail).

A ratio near 1.0 means the cost does not grow with the unrelated data.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import _setup  # noqa: E402 (benchmarks/ is the script's folder)

_setup.setup("embedded")  # a throw-away SQLite database, migrated

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from automations.dispatch import evaluate_event, match_automations  # noqa: E402
from automations.models import Automation, Event  # noqa: E402
from projects.models import MetricPoint, Project, Run  # noqa: E402
from teams.models import Integration, Team  # noqa: E402

REPEAT = 200


def median_seconds(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    for _ in range(10):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def queries(fn: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def automation(team: Team, project: Project, integration: Integration, name: str,
               event_type: str, flt: dict[str, object]) -> Automation:
    return Automation(
        team=team, name=name, scope_type="project", project=project, event_type=event_type,
        filter=flt, action_type="WEBHOOK", integration=integration,
        action_config={"payload": {}},
    )


def main() -> None:
    user = User.objects.create_user("bench")
    team = Team.objects.create(slug="bench", name="Bench")
    hook = Integration.objects.create(team=team, kind="webhook", name="hook",
                                      url="http://127.0.0.1:9/")
    project = Project.objects.create(team=team, name="main")
    Automation.objects.bulk_create(
        automation(team, project, hook, f"state-{i}", "RUN_STATE", {"states": ["failed"]})
        for i in range(5)
    )
    run = Run.start(project, author=user, run_id="r1")
    run.set_state("failed", user)
    event = Event.objects.filter(type="RUN_STATE").latest("id")

    def match() -> object:
        return evaluate_event(event, match_automations(event))

    base = median_seconds(match)
    base_q = queries(match)

    others = [Project.objects.create(team=team, name=f"other-{i}") for i in range(50)]
    Automation.objects.bulk_create(
        [automation(team, p, hook, f"o-{p.name}-{i}", "RUN_STATE", {"states": ["failed"]})
         for p in others for i in range(60)]
        + [automation(team, project, hook, f"metric-{i}", "RUN_METRIC_THRESHOLD",
                      {"metric": "loss", "window": 5, "agg": "avg", "cmp": "gt",
                       "threshold": 1.0})
           for i in range(2000)],
        batch_size=500,
    )
    crowded = median_seconds(match)
    crowded_q = queries(match)

    # Metric evaluation: one new point on a short history vs on a long one.
    Automation.objects.filter(event_type="RUN_METRIC_THRESHOLD").exclude(
        name="metric-0").delete()

    def metric_event(points: int) -> Event:
        r = Run.start(project, author=user)
        MetricPoint.objects.bulk_create(
            (MetricPoint(run=r, key="loss", step=s, value=1.0 / (s + 1)) for s in range(points)),
            batch_size=5000,
        )
        r.last_step = points - 1
        r.save(update_fields=["last_step"])
        r.log_history([(points, {"loss": 0.5})], user)
        return Event.objects.filter(type="RUN_METRIC").latest("id")

    short, long = metric_event(100), metric_event(100_000)
    short_t = median_seconds(lambda: evaluate_event(short, match_automations(short)))
    long_t = median_seconds(lambda: evaluate_event(long, match_automations(long)))

    print(_setup.row("matching a RUN_STATE event with 5,000 unrelated automations (time)",
                     f"{crowded * 1e3:.3f} ms, {crowded_q} queries",
                     f"none: {base * 1e3:.3f} ms, {base_q} queries", crowded / base))
    print(_setup.row("evaluating a metric event on a 100,000-point history (time)",
                     f"{long_t * 1e3:.3f} ms", f"100 points: {short_t * 1e3:.3f} ms",
                     long_t / short_t))


if __name__ == "__main__":
    main()
