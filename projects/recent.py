"""The run page's table of the newest history rows, read in a bounded number of points."""

from __future__ import annotations

from projects.models import MetricPoint, Run


def recent_rows(
    run: Run, keys: list[str], steps: int
) -> list[tuple[int, list[float | None]]]:
    """The last ``steps`` steps of the run (any metric logged at them), oldest first,
    each with the value of every metric of ``keys`` at that step (``None``: not logged).

    Two queries over this run's points only: the newest distinct steps, then the
    points at those steps. Never the run's whole history."""
    newest = list(
        run.metric_points.order_by("-step").values_list("step", flat=True).distinct()[:steps]
    )
    if not newest:
        return []
    by_step: dict[int, dict[str, float]] = {step: {} for step in newest}
    points = run.metric_points.filter(step__in=newest, key__in=keys).order_by("step", "key", "id")
    for key, step, value in points.values_list("key", "step", "value"):
        by_step[step][key] = MetricPoint.to_float(value)
    return [(step, [by_step[step].get(k) for k in keys]) for step in sorted(by_step)]
