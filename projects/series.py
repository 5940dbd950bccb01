"""A run's metric as a chart draws it: LTTB-downsampled finite points, its
non-finite values (NaN, ±Infinity) apart as marks, and the automations' marks.

Shared by the API (``…/runs/{run}/series``) and the run page's charts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from projects.chart_marks import automation_marks
from projects.lttb import downsample
from projects.models import MetricPoint, Run, encode_number

DEFAULT_POINTS = 1000
MIN_POINTS = 10
MAX_POINTS = 10_000
# Rows fetched per round trip while streaming a long history.
CHUNK = 5000


@dataclass(frozen=True)
class SeriesQuery:
    """What to read: one metric, at most ``points`` points, optionally a step range."""

    metric: str
    points: int = DEFAULT_POINTS
    start: int | None = None
    end: int | None = None

    def problems(self) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        if not self.metric:
            fields["metric"] = ["Name a metric."]
        if not MIN_POINTS <= self.points <= MAX_POINTS:
            fields["points"] = [f"Between {MIN_POINTS} and {MAX_POINTS}."]
        for name, step in (("start", self.start), ("end", self.end)):
            if step is not None and not -(2**63) <= step < 2**63:
                fields[name] = ["Out of the range of steps."]
        if self.start is not None and self.end is not None and self.start > self.end:
            fields["end"] = ["The end step is before the start step."]
        return fields


def _thin(items: list[Any], limit: int) -> list[Any]:
    """At most ``limit`` of ``items``, evenly spread, the first and last kept."""
    if len(items) <= limit:
        return items
    stride = (len(items) - 1) / (limit - 1)
    return [items[round(i * stride)] for i in range(limit)]


def metric_series(run: Run, query: SeriesQuery) -> dict[str, Any]:
    """The chart of ``query.metric`` of ``run``: see API.md's ``series`` answer.

    One query streams the metric's ``(step, value)`` rows in step order (the
    ``run, key, step`` index); LTTB thins the finite ones to ``query.points``, and
    the non-finite ones come back as ``nonfinite`` marks (also at most
    ``query.points``, evenly spread; ``nonfinite_count`` counts them all)."""
    rows = run.metric_points.filter(key=query.metric).order_by("step", "id")
    if query.start is not None:
        rows = rows.filter(step__gte=query.start)
    if query.end is not None:
        rows = rows.filter(step__lte=query.end)
    steps: list[int] = []
    values: list[float] = []
    marks: list[tuple[int, float]] = []
    for step, stored in rows.values_list("step", "value").iterator(chunk_size=CHUNK):
        value = MetricPoint.to_float(stored)
        if math.isfinite(value):
            steps.append(step)
            values.append(value)
        else:
            marks.append((step, value))
    count = len(steps) + len(marks)
    kept = downsample(steps, values, query.points)
    drawn = _thin(marks, query.points)
    firsts = steps[:1] + [s for s, _ in marks[:1]]
    lasts = steps[-1:] + [s for s, _ in marks[-1:]]
    automation = automation_marks(run).get(query.metric, {"thresholds": [], "markers": []})
    return {
        "metric": query.metric,
        "count": count,
        "downsampled": len(kept) < len(steps) or len(drawn) < len(marks),
        "first_step": min(firsts) if firsts else None,
        "last_step": max(lasts) if lasts else None,
        "steps": [steps[i] for i in kept],
        "values": [values[i] for i in kept],
        "nonfinite": [{"step": s, "value": encode_number(v)} for s, v in drawn],
        "nonfinite_count": len(marks),
        "thresholds": [
            {"value": v, "label": label} for v, label in automation["thresholds"]
        ],
        "markers": [{"step": int(s), "label": label} for s, label in automation["markers"]],
    }
