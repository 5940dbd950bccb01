"""What automations add to a run's metric charts: their thresholds and where they fired."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from projects.models import Run

# Comparisons against a number: drawable as a horizontal line ("nonfinite" is not).
DRAWN_COMPARISONS = frozenset({"gt", "gte", "lt", "lte", "eq", "ne"})


def _describe(event_type: str, filter: dict[str, Any]) -> str:
    from automations.events import describe_metric

    try:
        return describe_metric(event_type, filter)
    except (KeyError, TypeError, ValueError):
        return str(filter.get("metric", ""))


def _threshold(filter: dict[str, Any]) -> float | None:
    if filter.get("cmp") not in DRAWN_COMPARISONS:
        return None
    try:
        value = float(filter["threshold"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _step(match: Any) -> int | None:
    values = match.get("values") if isinstance(match, dict) else None
    step = values.get("metric_step") if isinstance(values, dict) else None
    if isinstance(step, bool) or not isinstance(step, int | float):
        return None
    return int(step)


def automation_marks(run: Run) -> dict[str, dict[str, list[tuple[float, str]]]]:
    """``{metric: {"thresholds": [(value, label)], "markers": [(step, label)]}}`` for ``run``.

    Thresholds come from the enabled ``RUN_METRIC_THRESHOLD`` automations of the
    run's project that compare the metric with a number. Markers are the steps
    at which a metric automation fired on this run (executions triggered by an
    event, pending, finished or failed — not skipped), one per step and
    automation. Two queries, however many automations and executions."""
    from automations.events import METRIC_TYPES, EventType
    from automations.models import Automation, Execution

    marks: dict[str, dict[str, list[tuple[float, str]]]] = defaultdict(
        lambda: {"thresholds": [], "markers": []}
    )
    automations = Automation.objects.filter(
        project_id=run.project_id, event_type=EventType.RUN_METRIC_THRESHOLD, enabled=True
    ).only("name", "event_type", "filter")
    for automation in automations:
        filter = automation.filter or {}
        value = _threshold(filter)
        metric = filter.get("metric")
        if value is None or not metric:
            continue
        label = f"{automation.name}: {_describe(automation.event_type, filter)}"
        marks[metric]["thresholds"].append((value, label))

    executions = (
        Execution.objects.filter(
            automation__project_id=run.project_id,
            automation__event_type__in=METRIC_TYPES,
            event__project_id=run.project_id,
            event__data__run__id=run.run_id,
            trigger=Execution.Trigger.EVENT,
            # Skipped executions did not fire.
            status__in=[s for s in Execution.Status if s != Execution.Status.SKIPPED],
        )
        .select_related("automation")
        .only("match", "status", "automation__name", "automation__filter")
        .order_by("created_at", "id")
    )
    seen: set[tuple[str, int, int]] = set()
    for execution in executions:
        metric = (execution.automation.filter or {}).get("metric")
        step = _step(execution.match)
        if not metric or step is None or (metric, step, execution.automation_id) in seen:
            continue
        seen.add((metric, step, execution.automation_id))
        label = f"{execution.automation.name} fired at step {step} ({execution.status})"
        marks[metric]["markers"].append((step, label))
    return dict(marks)
