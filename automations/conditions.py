"""Filter evaluation: does an event match an automation's filter, and why (not)?

Pure Python, no ORM. Every verdict carries a reason in words with the actual
values, so the history can say "avg(loss, 5) = 2.31 > 2.0" or
"run name 'eval-3' does not match ^sweep-".

Metric automations are judged on the tail of one run's history of one metric
(``evaluate_metric``); the caller reads at most ``history_needed`` values.
A condition is judged only on a full window; until then the verdict does not
match and says how many values are still missing ("needs 3 more values of loss"):

- ``RUN_METRIC_THRESHOLD`` needs ``window`` values — except ``cmp: nonfinite``,
  which fires on the first NaN or ±inf, however few values there are.
- ``RUN_METRIC_CHANGE`` needs ``window`` + ``prior_window`` values (both windows full).
- ``RUN_METRIC_ZSCORE`` needs ``window`` previous values plus the newest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from automations import regex
from automations.events import (
    COMPARISON_SYMBOLS,
    NEVER_FIRING_STATES,
    PROJECT,
    STATE_ALIASES,
    EventType,
    describe_metric,
    format_number,
    format_percent,
    get_spec,
)


@dataclass
class Verdict:
    """The outcome of one filter on one event.

    ``values`` of metric verdicts: ``metric_name``, ``metric_value`` (the number
    that was compared: aggregate, change or z-score), ``metric_values`` (the
    values judged; for a change, the current window), ``metric_prior_values``
    (change only: the prior window), ``metric_step`` and ``metric_filter`` (the
    condition in words). Floats may be NaN or ±inf: store them via :meth:`as_json`.
    """

    matched: bool
    reason: str
    values: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """JSON-safe form (NaN/±inf as "NaN"/"Infinity"/"-Infinity", as the API writes them)."""
        return {"matched": self.matched, "reason": self.reason, "values": json_safe(self.values)}


def json_safe(value: Any) -> Any:
    """A copy of a JSON value with NaN/±inf floats as "NaN"/"Infinity"/"-Infinity"."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


# --- run, artifact, alias and link events -------------------------------------


def _check_regex(label: str, pattern: str | None, text: str) -> tuple[bool, str]:
    if regex.search(pattern or "", text):
        return True, f"{label} '{text}' matches {pattern}"
    return False, f"{label} '{text}' does not match {pattern}"


def _check_equal(label: str, expected: str, actual: str) -> tuple[bool, str]:
    if actual == expected:
        return True, f"{label} is '{actual}'"
    return False, f"{label} is '{actual}', not '{expected}'"


def _combine(checks: list[tuple[bool, str]], when_empty: str) -> Verdict:
    for ok, reason in checks:
        if not ok:
            return Verdict(False, reason)
    return Verdict(True, "; ".join(reason for _, reason in checks) or when_empty)


def _run_checks(filter: dict[str, Any], run: dict[str, Any]) -> list[tuple[bool, str]]:
    checks = []
    if filter.get("run_name_regex"):
        name = str(run.get("name") or run.get("display_name") or run.get("id") or "")
        checks.append(_check_regex("run name", filter["run_name_regex"], name))
    if filter.get("run_user"):
        checks.append(_check_equal("run user", filter["run_user"], str(run.get("author") or "")))
    return checks


def evaluate_run_filters(filter: dict[str, Any], run: dict[str, Any]) -> Verdict:
    """``run_name_regex`` (searched in the run's display name, the id when it has none)
    and ``run_user`` (equal to the run's author)."""
    return _combine(_run_checks(filter, run), "no run filter")


def _state_check(filter: dict[str, Any], state: str) -> tuple[bool, str]:
    wanted = list(filter.get("states") or [])
    if state in NEVER_FIRING_STATES:
        return False, f"run state '{state}' never fires an automation"
    normalised = STATE_ALIASES.get(state, state)
    shown = f"'{state}'" if normalised == state else f"'{state}' (counts as '{normalised}')"
    if normalised in wanted:
        return True, f"run state {shown} is one of {', '.join(wanted)}"
    return False, f"run state {shown} is not one of {', '.join(wanted)}"


def evaluate(spec_type: str, scope: str, filter: dict[str, Any], data: dict[str, Any]) -> Verdict:
    """Judge a non-metric event (``data`` = ``Event.data`` as ``subjects.py`` documents).

    For metric types this is the pre-check that needs no history: the run
    filters, and that the event logged the automation's metric; the values
    themselves are judged by :func:`evaluate_metric`. ``KeyError`` for a type
    not in the catalog."""
    spec = get_spec(scope, spec_type)
    checks: list[tuple[bool, str]] = []
    if spec.type == EventType.RUN_STATE:
        checks.append(_state_check(filter, str(data.get("state") or "")))
        checks += _run_checks(filter, data.get("run") or {})
    elif spec.is_metric_event:
        checks += _run_checks(filter, data.get("run") or {})
        metric = filter.get("metric", "")
        if metric in (data.get("metrics") or []):
            checks.append((True, f"metric '{metric}' was logged"))
        else:
            checks.append((False, f"metric '{metric}' was not logged in this event"))
    elif scope == PROJECT:
        artifact = data.get("artifact") or {}
        if spec.is_alias_event:
            checks.append(_check_regex("alias", filter.get("alias_regex"), str(data.get("alias"))))
        if spec.is_tag_event:
            checks.append(_check_regex("tag", filter.get("tag_regex"), str(data.get("tag"))))
        if filter.get("artifact_name_regex"):
            checks.append(
                _check_regex(
                    "artifact name", filter["artifact_name_regex"], str(artifact.get("name", ""))
                )
            )
        if filter.get("artifact_type"):
            checks.append(
                _check_equal(
                    "artifact type", filter["artifact_type"], str(artifact.get("type", ""))
                )
            )
    else:
        if spec.is_alias_event:
            checks.append(_check_regex("alias", filter.get("alias_regex"), str(data.get("alias"))))
        if spec.is_tag_event:
            checks.append(_check_regex("tag", filter.get("tag_regex"), str(data.get("tag"))))
        if filter.get("collection"):
            checks.append(
                _check_equal("collection", filter["collection"], str(data.get("collection", "")))
            )
    return _combine(checks, "no filter: every event of this type matches")


# --- metric events -------------------------------------------------------------


def _setting(filter: dict[str, Any], type: str, name: str) -> Any:
    if name in filter and filter[name] is not None:
        return filter[name]
    return get_spec(PROJECT, type).field(name).default


def history_needed(type: str, filter: dict[str, Any]) -> int:
    """How many values, up to and including the newest, :func:`evaluate_metric` needs."""
    window = int(_setting(filter, type, "window"))
    if type == EventType.RUN_METRIC_THRESHOLD:
        return window
    if type == EventType.RUN_METRIC_CHANGE:
        return window + int(_setting(filter, type, "prior_window"))
    if type == EventType.RUN_METRIC_ZSCORE:
        return window + 1
    raise KeyError(type)


def _mean(values: Sequence[float]) -> float:
    if any(math.isinf(v) for v in values):
        return sum(values) / len(values)  # inf, -inf, or NaN when both (fsum would raise)
    return math.fsum(values) / len(values)


def _has_nan(values: Sequence[float]) -> bool:
    return any(math.isnan(v) for v in values)


def _aggregate(agg: str, values: Sequence[float]) -> float:
    if agg == "min":
        return min(values)
    if agg == "max":
        return max(values)
    return _mean(values)


def _compare(cmp: str, value: float, threshold: float) -> bool:
    return {
        "gt": value > threshold,
        "gte": value >= threshold,
        "lt": value < threshold,
        "lte": value <= threshold,
        "eq": value == threshold,
        "ne": value != threshold,
    }[cmp]


def _values(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values]


def _missing(metric: str, have: int, need: int, what: str, base: dict[str, Any]) -> Verdict:
    """The verdict of a window that is not full yet: nothing fires, and it says why."""
    missing = need - have
    plural = "value" if missing == 1 else "values"
    return Verdict(
        False,
        f"needs {missing} more {plural} of {metric} ({have} of {need} so far: {what})",
        base,
    )


def _threshold(filter: dict[str, Any], values: list[float], base: dict[str, Any]) -> Verdict:
    metric = base["metric_name"]
    window = int(_setting(filter, EventType.RUN_METRIC_THRESHOLD, "window"))
    agg = _setting(filter, EventType.RUN_METRIC_THRESHOLD, "agg")
    cmp = _setting(filter, EventType.RUN_METRIC_THRESHOLD, "cmp")
    tail = values[-window:]
    base["metric_values"] = tail
    if not tail:
        return Verdict(False, f"no values of {metric} yet", base)
    if cmp == "nonfinite":
        if len(tail) < window:  # judged before the window is full: say on how many values
            base["metric_filter"] += f", {len(tail)} of {window} values so far"
        bad = [v for v in tail if not math.isfinite(v)]
        if bad:
            base["metric_value"] = bad[-1]
            return Verdict(
                True,
                f"{metric} is {format_number(bad[-1])} within the last {len(tail)} value(s)",
                base,
            )
        base["metric_value"] = _aggregate(agg, tail)
        return Verdict(False, f"{metric} has no NaN or ±inf in the last {len(tail)} value(s)", base)
    if len(tail) < window:
        return _missing(metric, len(tail), window, f"the window is {window}", base)
    threshold = float(filter.get("threshold", 0.0))
    symbol = COMPARISON_SYMBOLS[cmp]
    label = f"{agg}({metric}, {window})"
    if _has_nan(tail):
        base["metric_value"] = math.nan
        return Verdict(False, f"{label} is undefined: the window contains NaN", base)
    value = _aggregate(agg, tail)
    base["metric_value"] = value
    if math.isnan(value):  # +inf and -inf averaged
        return Verdict(False, f"{label} is undefined: the window holds +inf and -inf", base)
    shown = f"{label} = {format_number(value)}"
    if _compare(cmp, value, threshold):
        return Verdict(True, f"{shown} {symbol} {format_number(threshold)}", base)
    return Verdict(False, f"{shown} is not {symbol} {format_number(threshold)}", base)


def _change(filter: dict[str, Any], values: list[float], base: dict[str, Any]) -> Verdict:
    type = EventType.RUN_METRIC_CHANGE
    metric = base["metric_name"]
    window = int(_setting(filter, type, "window"))
    prior_window = int(_setting(filter, type, "prior_window"))
    change_type = _setting(filter, type, "change_type")
    direction = _setting(filter, type, "direction")
    amount = float(filter.get("amount", 0.0))
    values = values[-(window + prior_window) :]
    current, prior = values[-window:], values[:-window]
    base["metric_values"] = current
    base["metric_prior_values"] = prior
    if len(values) < window + prior_window:
        what = f"a current window of {window} and a prior window of {prior_window}"
        return _missing(metric, len(values), window + prior_window, what, base)
    if _has_nan(values):
        base["metric_value"] = math.nan
        return Verdict(False, f"change of {metric} is undefined: the windows contain NaN", base)
    now, before = _mean(current), _mean(prior)
    label = (
        f"avg({metric}, {window}) = {format_number(now)} vs prior "
        f"avg({metric}, {prior_window}) = {format_number(before)}"
    )
    if change_type == "relative":
        if before == 0:
            base["metric_value"] = math.nan
            return Verdict(
                False, f"{label}: relative change is undefined when the prior mean is 0", base
            )
        change = (now - before) / abs(before)
        shown, needed = format_percent(change), format_percent(amount)
    else:
        change = now - before
        shown, needed = format_number(change), format_number(amount)
    if change > 0:
        shown = "+" + shown
    base["metric_value"] = change
    if math.isnan(change):
        return Verdict(False, f"{label}: the change is undefined (infinite values)", base)
    passes = {
        "increase": change >= amount,
        "decrease": -change >= amount,
        "any": abs(change) >= amount,
    }[direction]
    wanted = {"increase": "an increase", "decrease": "a decrease", "any": "a change"}[direction]
    text = f"{label}: {change_type} change {shown}"
    if passes:
        return Verdict(True, f"{text} is {wanted} of at least {needed}", base)
    return Verdict(False, f"{text} is not {wanted} of at least {needed}", base)


def _zscore(filter: dict[str, Any], values: list[float], base: dict[str, Any]) -> Verdict:
    type = EventType.RUN_METRIC_ZSCORE
    metric = base["metric_name"]
    window = int(_setting(filter, type, "window"))
    threshold = float(_setting(filter, type, "threshold"))
    direction = _setting(filter, type, "direction")
    values = values[-(window + 1) :]
    base["metric_values"] = values
    previous, newest = values[:-1], values[-1] if values else math.nan
    label = f"zscore({metric}, {window})"
    if len(previous) < window:
        what = f"the newest value and the {window} before it"
        return _missing(metric, len(values), window + 1, what, base)
    if _has_nan(values):
        base["metric_value"] = math.nan
        return Verdict(False, f"{label} is undefined: the values contain NaN", base)
    if any(math.isinf(v) for v in previous):
        base["metric_value"] = math.nan
        return Verdict(False, f"{label} is undefined: the previous values contain ±inf", base)
    mean = _mean(previous)
    # Sample standard deviation of the previous values.
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in previous) / (len(previous) - 1))
    if std == 0:
        if newest == mean:
            base["metric_value"] = 0.0
            return Verdict(
                False,
                f"{label}: the previous values are all {format_number(mean)} and so is the "
                "newest (no variance, no outlier)",
                base,
            )
        z = math.inf if newest > mean else -math.inf
    else:
        z = (newest - mean) / std
    base["metric_value"] = z
    shown = (
        f"{label} = {format_number(z)} ({metric} {format_number(newest)}, "
        f"mean {format_number(mean)}, std {format_number(std)})"
    )
    passes = {"above": z > threshold, "below": z < -threshold, "any": abs(z) > threshold}[direction]
    bound = {
        "above": f"> {format_number(threshold)}",
        "below": f"< {format_number(-threshold)}",
        "any": f"beyond ±{format_number(threshold)}",
    }[direction]
    if passes:
        return Verdict(True, f"{shown} is {bound}", base)
    return Verdict(False, f"{shown} is not {bound}", base)


def evaluate_metric(
    type: str, filter: dict[str, Any], values: Sequence[float], step: int
) -> Verdict:
    """Judge the tail of one run's history of one metric, ending at the newest value.

    ``values`` are oldest first; longer input is cut to :func:`history_needed`.
    Every condition is judged on a full window only (see the module docstring).
    Threshold: ``agg`` over the last ``window`` values compared with
    ``threshold``; ``nonfinite`` matches when any of them is NaN or ±inf (even
    before the window is full); other comparisons never match with NaN in the
    window. Change: mean of the current window vs mean of the prior,
    consecutive window; amounts compare with ``>=``. Z-score: the newest value
    against the previous ``window`` values (sample std); zero variance gives
    ±inf when the newest differs.
    """
    base: dict[str, Any] = {
        "metric_name": filter.get("metric", ""),
        "metric_value": math.nan,
        "metric_values": [],
        "metric_step": step,
        "metric_filter": describe_metric(type, filter),
    }
    tail = _values(values)
    if type == EventType.RUN_METRIC_THRESHOLD:
        return _threshold(filter, tail, base)
    if type == EventType.RUN_METRIC_CHANGE:
        return _change(filter, tail, base)
    if type == EventType.RUN_METRIC_ZSCORE:
        return _zscore(filter, tail, base)
    raise KeyError(type)
