"""Fill a project with many runs and their metric history quickly (benchmarks, tests).

Runs are bulk-created (no events: this is seeding, not logging); points go in with
``MetricPoint.insert`` (multi-row INSERTs), the summary and ``last_step`` set as
logging would have left them.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from projects.models import MetricPoint, Project, Run, encode_number


def metric_value(run: int, key: int, step: int) -> float:
    return math.sin(step / 20 + run) * (key + 1) + step / 100


def seed_runs(
    project: Project,
    runs: int,
    *,
    points: int = 0,
    metrics: int = 0,
    author: Any = None,
    prefix: str = "run",
) -> list[Run]:
    """``runs`` finished runs, each with ``points`` steps of ``metrics`` metrics."""
    keys = [f"metric_{k}" for k in range(metrics)]
    start = timezone.now() - timedelta(seconds=runs)
    made = [
        Run(
            project=project,
            run_id=f"{prefix}-{i:05d}",
            author=author,
            state=Run.State.FINISHED,
            config={"lr": 0.001 * (i % 10 + 1), "batch": 32},
            tags=["seeded"],
            summary={
                key: encode_number(metric_value(i, k, points - 1)) for k, key in enumerate(keys)
            } if points else {},
            last_step=points - 1 if points else None,
            created_at=start + timedelta(seconds=i),
            updated_at=start + timedelta(seconds=i),
        )
        for i in range(runs)
    ]
    with transaction.atomic():
        Run.objects.bulk_create(made, batch_size=500)
    if points and metrics:
        created = [
            *Run.objects.filter(project=project, run_id__startswith=f"{prefix}-")
            .order_by("run_id").values_list("pk", flat=True)
        ]
        now = timezone.now()
        for i, pk in enumerate(created):
            rows = [
                (key, step, metric_value(i, k, step))
                for step in range(points) for k, key in enumerate(keys)
            ]
            with transaction.atomic():
                MetricPoint.insert(pk, rows, now)
    return made
