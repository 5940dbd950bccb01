"""Metric windows are judged only when full: each condition at window − 1, window and
window + 1 values, with NaN and ±inf inside the window; nonfinite fires at once."""

from __future__ import annotations

import math
from typing import Any

import pytest

from automations import dispatch
from automations.conditions import evaluate_metric, history_needed
from automations.events import validate_filter
from automations.models import Event, Execution
from projects.models import Run
from tests.support.factories import make_automation, make_webhook

NAN, INF = math.nan, math.inf
W = 4  # the window of every case below (the change's prior window is 3)
THRESHOLD = {"metric": "loss", "window": W, "agg": "max", "cmp": "gt", "threshold": 2.0}
NONFINITE = {"metric": "loss", "window": W, "agg": "max", "cmp": "nonfinite"}
CHANGE = {"metric": "loss", "window": W, "prior_window": 3, "change_type": "absolute",
          "direction": "increase", "amount": 1.0}
ZSCORE = {"metric": "loss", "window": W, "threshold": 2.0, "direction": "above"}


def judge(type: str, raw: dict[str, Any], values: list[float]) -> Any:
    filter = validate_filter("project", type, raw)
    assert history_needed(type, filter) >= len(values) - 1
    return evaluate_metric(type, filter, values, len(values) - 1)


# (type, filter, values, matched, reason starts with / contains, metric_value)
CASES = [
    # threshold: needs W values
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, 1, 5], False, "needs 1 more value of loss (3 of", None),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, 1, 1, 5], True, "max(loss, 4) = 5.0 > 2.0", 5.0),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [9, 1, 1, 1, 1], False, "max(loss, 4) = 1.0 is not", 1.0),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, NAN, 5], False, "needs 1 more value", None),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, NAN, 1, 5], False, "the window contains NaN", NAN),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [NAN, 1, 1, 1, 5], True, "max(loss, 4) = 5.0", 5.0),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, 1, INF], False, "needs 1 more value", None),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [1, -INF, 1, INF], True, "max(loss, 4) = inf > 2.0", INF),
    ("RUN_METRIC_THRESHOLD", THRESHOLD, [INF, 1, 1, 1, 1], False, "= 1.0 is not", 1.0),
    # nonfinite: fires on the first NaN or ±inf, however short the history
    ("RUN_METRIC_THRESHOLD", NONFINITE, [1, 1, NAN], True, "loss is NaN within the last 3", NAN),
    ("RUN_METRIC_THRESHOLD", NONFINITE, [1, 1, 1, -INF], True, "loss is -inf", -INF),
    ("RUN_METRIC_THRESHOLD", NONFINITE, [INF, 1, 1, 1, 1], False, "no NaN or ±inf in the last 4",
     1.0),
    ("RUN_METRIC_THRESHOLD", NONFINITE, [1, 1, 1], False, "no NaN or ±inf in the last 3", 1.0),
    # change: needs W + prior_window = 7 values
    ("RUN_METRIC_CHANGE", CHANGE, [1, 1, 3, 3, 3, 3], False,
     "needs 1 more value of loss (6 of 7 so far: a current window of 4 and a prior window of 3)",
     None),
    ("RUN_METRIC_CHANGE", CHANGE, [1, 1, 1, 3, 3, 3, 3], True,
     "avg(loss, 4) = 3.0 vs prior avg(loss, 3) = 1.0: absolute change +2.0", 2.0),
    ("RUN_METRIC_CHANGE", CHANGE, [9, 3, 3, 3, 3, 3, 3, 3], False, "absolute change 0.0", 0.0),
    ("RUN_METRIC_CHANGE", CHANGE, [1, NAN, 3, 3, 3, 3], False, "needs 1 more value", None),
    ("RUN_METRIC_CHANGE", CHANGE, [1, NAN, 1, 3, 3, 3, 3], False, "the windows contain NaN", NAN),
    ("RUN_METRIC_CHANGE", CHANGE, [NAN, 1, 1, 1, 3, 3, 3, 3], True, "change +2.0", 2.0),
    ("RUN_METRIC_CHANGE", CHANGE, [1, 1, 1, 3, 3, 3, INF], True, "change +inf", INF),
    ("RUN_METRIC_CHANGE", CHANGE, [INF, 1, 1, 1, 3, 3, 3, 3], True, "change +2.0", 2.0),
    ("RUN_METRIC_CHANGE", CHANGE, [INF, 1, 1, 3, 3, 3, 3], False, "change -inf is not", -INF),
    # z-score: needs W previous values plus the newest = 5 values
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, 2, 1, 9], False,
     "needs 1 more value of loss (4 of 5 so far: the newest value and the 4 before it)", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, 2, 1, 2, 9], True, "zscore(loss, 4) = ", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [100, 1, 2, 1, 2, 1.6], False, "is not > 2.0", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, NAN, 1, 9], False, "needs 1 more value", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, NAN, 1, 2, 9], False, "the values contain NaN", NAN),
    ("RUN_METRIC_ZSCORE", ZSCORE, [NAN, 1, 2, 1, 2, 9], True, "zscore(loss, 4) = ", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, 2, 1, INF], False, "needs 1 more value", None),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, 2, 1, 2, INF], True, "zscore(loss, 4) = inf", INF),
    ("RUN_METRIC_ZSCORE", ZSCORE, [1, -INF, 1, 2, 9], False, "previous values contain ±inf", NAN),
    ("RUN_METRIC_ZSCORE", ZSCORE, [-INF, 1, 2, 1, 2, 9], True, "zscore(loss, 4) = ", None),
]


@pytest.mark.parametrize(
    ("type", "raw", "values", "matched", "reason", "value"),
    CASES,
    ids=[f"{c[0].split('_')[-1].lower()}-{c[1].get('cmp', '')}-{len(c[2])}-{i}"
         for i, c in enumerate(CASES)],
)
def test_windows_at_their_edges(
    type: str, raw: dict[str, Any], values: list[float], matched: bool, reason: str,
    value: float | None,
) -> None:
    verdict = judge(type, raw, [float(v) for v in values])

    assert verdict.matched is matched, verdict.reason
    assert reason in verdict.reason
    if reason.startswith("needs"):
        assert verdict.reason.startswith("needs")
        assert math.isnan(verdict.values["metric_value"])  # nothing was compared
    if value is not None:
        got = verdict.values["metric_value"]
        assert (math.isnan(got) and math.isnan(value)) or got == pytest.approx(value)


def test_the_verdict_names_exactly_the_compared_numbers() -> None:
    change = judge("RUN_METRIC_CHANGE", CHANGE, [7, 1, 1, 1, 3, 3, 3, 3])
    assert change.values["metric_values"] == [3.0] * 4
    assert change.values["metric_prior_values"] == [1.0] * 3
    assert change.values["metric_filter"] == (
        "avg(loss, 4) vs prior avg(loss, 3) increases by >= 1.0 (absolute)"
    )
    zscore = judge("RUN_METRIC_ZSCORE", ZSCORE, [7, 1, 2, 1, 2, 9])
    assert zscore.values["metric_values"] == [1.0, 2.0, 1.0, 2.0, 9.0]
    assert zscore.values["metric_filter"] == "zscore(loss, 4) > 2.0"
    threshold = judge("RUN_METRIC_THRESHOLD", THRESHOLD, [7, 1, 1, 1, 5])
    assert threshold.values["metric_values"] == [1.0, 1.0, 1.0, 5.0]
    assert threshold.values["metric_filter"] == "max(loss, 4) > 2.0"


def test_a_run_short_of_the_window_is_explained_and_nothing_fires_or_is_skipped(
    project: Any, member: Any
) -> None:
    automation = make_automation(project, make_webhook(project.team),
                                 event_type="RUN_METRIC_ZSCORE", filter=dict(ZSCORE), name="z")
    run = Run.start(project, author=member, run_id="r1")

    run.log_history([(s, {"loss": v}) for s, v in enumerate([1.0, 1.02, 1.0, 1.02])], member)
    event = Event.objects.filter(type="RUN_METRIC").latest("pk")
    assert dispatch.process(event) == []
    event.refresh_from_db()
    assert event.evaluations[0]["reason"] == (
        "needs 1 more value of loss (4 of 5 so far: the newest value and the 4 before it)"
    )
    assert not Execution.objects.exists()

    run.log_history([(4, {"loss": 9.0})], member)
    [fired] = dispatch.process(Event.objects.filter(type="RUN_METRIC").latest("pk"))
    assert (fired.automation, fired.status) == (automation, "pending")
    assert fired.match["values"]["metric_values"] == [1.0, 1.02, 1.0, 1.02, 9.0]


def test_a_nonfinite_verdict_before_the_window_is_full_says_how_many_values_it_saw() -> None:
    early = judge("RUN_METRIC_THRESHOLD", NONFINITE, [1.0, NAN])
    assert early.matched
    assert early.values["metric_filter"] == "loss is NaN or ±inf (max over 4), 2 of 4 values so far"
    assert early.values["metric_values"][0] == 1.0 and math.isnan(early.values["metric_values"][1])
    full = judge("RUN_METRIC_THRESHOLD", NONFINITE, [1.0, 1.0, 1.0, NAN])
    assert full.values["metric_filter"] == "loss is NaN or ±inf (max over 4)"
