"""Filter evaluation: run state, run filters, artifacts, aliases, links, metric windows; RE2."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from automations import regex
from automations.conditions import (
    Verdict,
    evaluate,
    evaluate_metric,
    evaluate_run_filters,
    history_needed,
)
from automations.events import validate_filter

NAN, INF = math.nan, math.inf


def run(name: str = "sweep-1", author: str = "ada", state: str = "running") -> dict[str, Any]:
    return {"id": "abc123", "name": name, "display_name": name, "state": state, "author": author}


def state_event(state: str, **run_kw: Any) -> dict[str, Any]:
    return {"run": run(state=state, **run_kw), "state": state, "previous_state": "running"}


def threshold(**raw: Any) -> dict[str, Any]:
    return validate_filter("project", "RUN_METRIC_THRESHOLD", {"metric": "loss", **raw})


def change(**raw: Any) -> dict[str, Any]:
    return validate_filter("project", "RUN_METRIC_CHANGE", {"metric": "loss", **raw})


def zscore(**raw: Any) -> dict[str, Any]:
    return validate_filter("project", "RUN_METRIC_ZSCORE", {"metric": "loss", **raw})


# --- RE2 ---------------------------------------------------------------------------


def test_regex_search_is_unanchored_unless_anchored() -> None:
    assert regex.search("prod", "my-production")
    assert not regex.search("^prod", "my-production")
    assert regex.search("(?i)^PROD", "production")


def test_catastrophic_backtracking_pattern_returns_fast() -> None:
    text = "a" * 200_000 + "!"
    started = time.perf_counter()
    assert not regex.search("(a+)+$", "a" * 200_000 + "b")
    assert not regex.search("^(a|aa)+$", text)
    assert not regex.search("(a*)*b", text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "pattern", [r"(a)\1", "(?=lookahead)", "(?<!x)y", "[unclosed", "a{1001}", "x" * 1001]
)
def test_patterns_re2_cannot_run_in_linear_time_are_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="(?i)regular expression"):
        regex.compile_user_regex(pattern)
    with pytest.raises(ValueError):
        regex.search(pattern, "text")


def test_non_string_pattern_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        regex.compile_user_regex(5)  # type: ignore[arg-type]


# --- RUN_STATE ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "state", "matched"),
    [
        (["failed"], "failed", True),
        (["failed"], "crashed", True),
        (["failed"], "finished", False),
        (["finished"], "finished", True),
        (["running"], "running", True),
        (["running", "finished", "failed"], "killed", False),
        (["finished", "failed"], "running", False),
    ],
)
def test_run_state(states: list[str], state: str, matched: bool) -> None:
    verdict = evaluate("RUN_STATE", "project", {"states": states}, state_event(state))
    assert verdict.matched is matched
    assert state in verdict.reason


def test_run_state_reasons_are_words() -> None:
    crashed = evaluate("RUN_STATE", "project", {"states": ["failed"]}, state_event("crashed"))
    assert crashed.reason == "run state 'crashed' (counts as 'failed') is one of failed"
    killed = evaluate("RUN_STATE", "project", {"states": ["failed"]}, state_event("killed"))
    assert killed.reason == "run state 'killed' never fires an automation"
    other = evaluate("RUN_STATE", "project", {"states": ["failed"]}, state_event("finished"))
    assert other.reason == "run state 'finished' is not one of failed"


def test_run_state_with_run_filters() -> None:
    f = {"states": ["failed"], "run_name_regex": "^sweep-", "run_user": "ada"}
    assert evaluate("RUN_STATE", "project", f, state_event("failed")).matched
    wrong_name = evaluate("RUN_STATE", "project", f, state_event("failed", name="eval-3"))
    assert not wrong_name.matched
    assert wrong_name.reason == "run name 'eval-3' does not match ^sweep-"
    wrong_user = evaluate("RUN_STATE", "project", f, state_event("failed", author="bob"))
    assert wrong_user.reason == "run user is 'bob', not 'ada'"
    # The state is judged first: a running run is rejected for its state.
    assert "not one of" in evaluate("RUN_STATE", "project", f, state_event("running")).reason


def test_run_filters_alone() -> None:
    assert evaluate_run_filters({}, run()) == Verdict(True, "no run filter")
    verdict = evaluate_run_filters({"run_name_regex": "-1$", "run_user": "ada"}, run())
    assert verdict.matched
    assert verdict.reason == "run name 'sweep-1' matches -1$; run user is 'ada'"
    # A run without a display name is matched by its id.
    unnamed = {"id": "abc123", "name": "", "display_name": "", "author": ""}
    assert evaluate_run_filters({"run_name_regex": "^abc"}, unnamed).matched
    assert not evaluate_run_filters({"run_user": "ada"}, unnamed).matched


# --- artifacts, aliases, links -------------------------------------------------------


def artifact(name: str = "mnist-cnn", type: str = "model") -> dict[str, Any]:
    return {"name": name, "type": type, "version": "v3", "index": 3, "metadata": {}}


def test_create_artifact() -> None:
    data = {"artifact": artifact()}
    assert evaluate("CREATE_ARTIFACT", "project", {}, data).matched
    assert evaluate("CREATE_ARTIFACT", "project", {"artifact_name_regex": "^mnist"}, data).matched
    by_name = evaluate("CREATE_ARTIFACT", "project", {"artifact_name_regex": "^cifar"}, data)
    assert by_name.reason == "artifact name 'mnist-cnn' does not match ^cifar"
    by_type = evaluate("CREATE_ARTIFACT", "project", {"artifact_type": "dataset"}, data)
    assert not by_type.matched
    assert by_type.reason == "artifact type is 'model', not 'dataset'"
    both = {"artifact_name_regex": "cnn$", "artifact_type": "model"}
    assert evaluate("CREATE_ARTIFACT", "project", both, data).matched


def test_add_alias_in_project() -> None:
    data = {"artifact": artifact(), "alias": "production"}
    f = {"alias_regex": "^prod"}
    assert evaluate("ADD_ARTIFACT_ALIAS", "project", f, data).reason == (
        "alias 'production' matches ^prod"
    )
    staging = evaluate("ADD_ARTIFACT_ALIAS", "project", f, {**data, "alias": "staging"})
    assert not staging.matched
    assert staging.reason == "alias 'staging' does not match ^prod"
    named = {"alias_regex": "^prod", "artifact_name_regex": "^resnet"}
    assert not evaluate("ADD_ARTIFACT_ALIAS", "project", named, data).matched


def test_link_artifact() -> None:
    data = {"collection": "mnist", "linked": {"index": 1}, "artifact": artifact()}
    assert evaluate("LINK_ARTIFACT", "registry", {}, data).matched
    assert evaluate("LINK_ARTIFACT", "registry", {"collection": "mnist"}, data).matched
    other = evaluate("LINK_ARTIFACT", "registry", {"collection": "cifar"}, data)
    assert other.reason == "collection is 'mnist', not 'cifar'"


def test_add_alias_in_registry() -> None:
    data = {"collection": "mnist", "linked": {}, "artifact": artifact(), "alias": "staging"}
    assert evaluate("ADD_ARTIFACT_ALIAS", "registry", {"alias_regex": "^staging$"}, data).matched
    assert not evaluate(
        "ADD_ARTIFACT_ALIAS", "registry", {"alias_regex": "^staging$"}, {**data, "alias": "stage"}
    ).matched
    f = {"alias_regex": "^staging$", "collection": "cifar"}
    assert not evaluate("ADD_ARTIFACT_ALIAS", "registry", f, data).matched


@pytest.mark.parametrize("type", ["ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG"])
def test_artifact_tags_in_project_scope(type: str) -> None:
    data = {"artifact": artifact(), "tag": "validated"}
    ok = evaluate(type, "project", {"tag_regex": "^valid"}, data)
    assert ok.matched and ok.reason == "tag 'validated' matches ^valid"
    miss = evaluate(type, "project", {"tag_regex": "^prod"}, data)
    assert miss.reason == "tag 'validated' does not match ^prod"
    named = {"tag_regex": "^valid", "artifact_name_regex": "^other$"}
    assert not evaluate(type, "project", named, data).matched


@pytest.mark.parametrize(
    ("type", "data"),
    [
        ("ADD_ARTIFACT_TAG", {"collection": "mnist", "linked": {}, "artifact": artifact()}),
        ("REMOVE_ARTIFACT_TAG", {"collection": "mnist", "linked": {}, "artifact": artifact()}),
        ("ADD_COLLECTION_TAG", {"collection": "mnist", "collection_info": {}}),
        ("REMOVE_COLLECTION_TAG", {"collection": "mnist", "collection_info": {}}),
    ],
)
def test_tags_in_registry_scope(type: str, data: dict[str, Any]) -> None:
    data = {**data, "tag": "vision"}
    assert evaluate(type, "registry", {"tag_regex": "^vision$"}, data).matched
    assert evaluate(type, "registry", {"tag_regex": "vis", "collection": "mnist"}, data).matched
    other = evaluate(type, "registry", {"tag_regex": "vis", "collection": "cifar"}, data)
    assert other.reason == "collection is 'mnist', not 'cifar'"
    assert not evaluate(type, "registry", {"tag_regex": "^nlp$"}, data).matched


def test_unlink_artifact() -> None:
    data = {"collection": "mnist", "linked": {"index": 1}, "artifact": artifact()}
    assert evaluate("UNLINK_ARTIFACT", "registry", {}, data).matched
    assert not evaluate("UNLINK_ARTIFACT", "registry", {"collection": "cifar"}, data).matched


def test_metric_precheck_needs_the_metric_and_the_run_filters() -> None:
    f = threshold(threshold=1, run_name_regex="^sweep")
    data = {"run": run(), "metrics": ["acc", "loss"], "first_step": 1, "last_step": 1, "rows": 1}
    assert evaluate("RUN_METRIC_THRESHOLD", "project", f, data).matched
    missing = evaluate("RUN_METRIC_THRESHOLD", "project", f, {**data, "metrics": ["acc"]})
    assert missing.reason == "metric 'loss' was not logged in this event"
    other_run = evaluate("RUN_METRIC_THRESHOLD", "project", f, {**data, "run": run("eval")})
    assert not other_run.matched


def test_unknown_type_raises_key_error() -> None:
    with pytest.raises(KeyError):
        evaluate("LINK_ARTIFACT", "project", {}, {})


# --- history_needed ------------------------------------------------------------------


def test_history_needed() -> None:
    assert history_needed("RUN_METRIC_THRESHOLD", threshold(threshold=1, window=7)) == 7
    assert history_needed("RUN_METRIC_CHANGE", change(amount=1)) == 60
    assert history_needed("RUN_METRIC_CHANGE", change(amount=1, window=3, prior_window=4)) == 7
    assert history_needed("RUN_METRIC_ZSCORE", zscore()) == 31
    assert history_needed("RUN_METRIC_ZSCORE", {"metric": "loss"}) == 31


# --- threshold -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agg", "cmp", "limit", "values", "matched"),
    [
        ("avg", "gt", 2.0, [1, 2, 3, 4, 5], True),  # avg 3
        ("avg", "gt", 3.0, [1, 2, 3, 4, 5], False),
        ("avg", "gte", 3.0, [1, 2, 3, 4, 5], True),
        ("avg", "lt", 3.0, [1, 2, 3, 4, 5], False),
        ("avg", "lte", 3.0, [1, 2, 3, 4, 5], True),
        ("avg", "eq", 3.0, [1, 2, 3, 4, 5], True),
        ("avg", "ne", 3.0, [1, 2, 3, 4, 5], False),
        ("min", "lt", 1.5, [1, 2, 3, 4, 5], True),
        ("min", "gt", 1.0, [1, 2, 3, 4, 5], False),
        ("max", "gte", 5.0, [1, 2, 3, 4, 5], True),
        ("max", "lt", 5.0, [1, 2, 3, 4, 5], False),
        ("max", "gt", 100.0, [1, 2, INF], True),
        ("min", "lt", -100.0, [1, -INF, 3], True),
        ("avg", "gt", 1e300, [1, INF], True),
    ],
)
def test_threshold_comparisons(
    agg: str, cmp: str, limit: float, values: list[float], matched: bool
) -> None:
    f = threshold(agg=agg, cmp=cmp, threshold=limit, window=len(values))
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, values, 9)
    assert verdict.matched is matched, verdict.reason


def test_threshold_uses_only_the_last_window() -> None:
    f = threshold(window=2, agg="max", cmp="gt", threshold=5)
    assert not evaluate_metric("RUN_METRIC_THRESHOLD", f, [100, 1, 2], 3).matched
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [1, 2, 100, 1, 6], 5)
    assert verdict.matched
    assert verdict.values["metric_values"] == [1.0, 6.0]
    assert verdict.values["metric_value"] == 6.0


def test_threshold_reason_and_values() -> None:
    verdict = evaluate_metric(
        "RUN_METRIC_THRESHOLD", threshold(threshold=2.0), [2.0, 2.5, 2.3, 2.4, 2.35], 42
    )
    assert verdict.matched
    assert verdict.reason == "avg(loss, 5) = 2.31 > 2.0"
    assert verdict.values == {
        "metric_name": "loss",
        "metric_value": pytest.approx(2.31),
        "metric_values": [2.0, 2.5, 2.3, 2.4, 2.35],
        "metric_step": 42,
        "metric_filter": "avg(loss, 5) > 2.0",
    }
    miss = evaluate_metric("RUN_METRIC_THRESHOLD", threshold(threshold=3.0), [1.0] * 5, 5)
    assert miss.reason == "avg(loss, 5) = 1.0 is not > 3.0"


def test_threshold_with_a_shorter_history_waits_for_the_full_window() -> None:
    f = threshold(window=5, agg="avg", cmp="gt", threshold=2.0)
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [3.0, 4.0], 2)
    assert not verdict.matched
    assert verdict.reason == "needs 3 more values of loss (2 of 5 so far: the window is 5)"


def test_threshold_without_values_does_not_match() -> None:
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", threshold(threshold=0), [], 0)
    assert not verdict.matched and verdict.reason == "no values of loss yet"


@pytest.mark.parametrize("agg", ["avg", "min", "max"])
@pytest.mark.parametrize("cmp", ["gt", "gte", "lt", "lte", "eq", "ne"])
def test_nan_in_the_window_never_matches_ordinary_comparisons(agg: str, cmp: str) -> None:
    f = threshold(agg=agg, cmp=cmp, threshold=0.0, window=3)
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [1.0, NAN, -1.0], 3)
    assert not verdict.matched
    assert "contains NaN" in verdict.reason


def test_nan_outside_the_window_is_ignored() -> None:
    f = threshold(window=2, cmp="gt", threshold=0.0)
    assert evaluate_metric("RUN_METRIC_THRESHOLD", f, [NAN, 1.0, 1.0], 3).matched


def test_plus_and_minus_inf_averaged_is_undefined() -> None:
    f = threshold(window=2, cmp="ne", threshold=0.0)
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [INF, -INF], 2)
    assert not verdict.matched and "+inf and -inf" in verdict.reason


@pytest.mark.parametrize(
    ("values", "matched", "shown"),
    [
        ([1.0, NAN], True, "NaN"),
        ([INF], True, "inf"),
        ([1.0, -INF, 2.0], True, "-inf"),
        ([1.0, 2.0, 3.0], False, None),
    ],
)
def test_nonfinite(values: list[float], matched: bool, shown: str | None) -> None:
    f = threshold(cmp="nonfinite", window=3, agg="max")
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, values, 7)
    assert verdict.matched is matched
    so_far = "" if len(values) == 3 else f", {len(values)} of 3 values so far"
    assert verdict.values["metric_filter"] == "loss is NaN or ±inf (max over 3)" + so_far
    if shown:
        assert verdict.reason == f"loss is {shown} within the last {len(values)} value(s)"
    else:
        assert verdict.reason == "loss has no NaN or ±inf in the last 3 value(s)"


def test_nonfinite_looks_only_at_the_window() -> None:
    f = threshold(cmp="nonfinite", window=1, agg="max")
    assert not evaluate_metric("RUN_METRIC_THRESHOLD", f, [NAN, 1.0], 2).matched
    assert evaluate_metric("RUN_METRIC_THRESHOLD", f, [1.0, NAN], 2).matched


def test_longer_input_is_cut_to_the_window() -> None:
    f = threshold(window=3, agg="min", cmp="gt", threshold=0.0)
    assert evaluate_metric("RUN_METRIC_THRESHOLD", f, [-5.0] * 10 + [1.0, 2.0, 3.0], 13).matched


# --- change --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change_type", "direction", "amount", "values", "matched", "value"),
    [
        # prior mean 2, current mean 3: +50% / +1
        ("relative", "increase", 0.5, [2, 2, 3, 3], True, 0.5),
        ("relative", "increase", 0.51, [2, 2, 3, 3], False, 0.5),
        ("relative", "decrease", 0.1, [2, 2, 3, 3], False, 0.5),
        ("relative", "any", 0.5, [2, 2, 3, 3], True, 0.5),
        ("absolute", "increase", 1.0, [2, 2, 3, 3], True, 1.0),
        ("absolute", "increase", 1.01, [2, 2, 3, 3], False, 1.0),
        ("absolute", "decrease", 1.0, [2, 2, 3, 3], False, 1.0),
        # prior mean 4, current mean 1: -75% / -3
        ("relative", "decrease", 0.75, [4, 4, 1, 1], True, -0.75),
        ("relative", "increase", 0.1, [4, 4, 1, 1], False, -0.75),
        ("relative", "any", 0.7, [4, 4, 1, 1], True, -0.75),
        ("absolute", "decrease", 3.0, [4, 4, 1, 1], True, -3.0),
        ("absolute", "any", 3.0, [4, 4, 1, 1], True, -3.0),
        ("absolute", "any", 3.5, [4, 4, 1, 1], False, -3.0),
        # relative change against a negative prior: (-1 - -2) / 2 = +50%
        ("relative", "increase", 0.5, [-2, -2, -1, -1], True, 0.5),
    ],
)
def test_change(
    change_type: str,
    direction: str,
    amount: float,
    values: list[float],
    matched: bool,
    value: float,
) -> None:
    f = change(
        window=2, prior_window=2, change_type=change_type, direction=direction, amount=amount
    )
    verdict = evaluate_metric("RUN_METRIC_CHANGE", f, values, 4)
    assert verdict.matched is matched, verdict.reason
    assert verdict.values["metric_value"] == pytest.approx(value)
    assert verdict.values["metric_values"] == [float(v) for v in values[-2:]]


def test_change_reason() -> None:
    f = change(window=2, prior_window=2, amount=0.1, direction="increase")
    verdict = evaluate_metric("RUN_METRIC_CHANGE", f, [2, 2, 3, 3], 4)
    assert verdict.reason == (
        "avg(loss, 2) = 3.0 vs prior avg(loss, 2) = 2.0: relative change +50% "
        "is an increase of at least 10%"
    )


def test_change_needs_both_windows_full() -> None:
    f = change(window=3, prior_window=5, amount=0.1)
    short = evaluate_metric("RUN_METRIC_CHANGE", f, [1, 5, 5, 5], 4)
    assert not short.matched
    assert short.reason == (
        "needs 4 more values of loss (4 of 8 so far: a current window of 3 and a prior "
        "window of 5)"
    )
    enough = evaluate_metric("RUN_METRIC_CHANGE", f, [1, 1, 1, 1, 1, 5, 5, 5], 8)
    assert enough.matched
    assert "prior avg(loss, 5) = 1.0" in enough.reason
    assert enough.values["metric_prior_values"] == [1.0] * 5


def test_change_only_reads_the_two_consecutive_windows() -> None:
    f = change(window=2, prior_window=2, change_type="absolute", amount=1.0)
    # The 100s are older than both windows.
    assert not evaluate_metric("RUN_METRIC_CHANGE", f, [100, 100, 2, 2, 2, 2], 6).matched


def test_relative_change_against_zero_mean_is_undefined() -> None:
    f = change(window=1, prior_window=2, amount=0.1)
    verdict = evaluate_metric("RUN_METRIC_CHANGE", f, [1, -1, 5], 3)
    assert not verdict.matched
    assert "undefined when the prior mean is 0" in verdict.reason
    absolute = change(window=1, prior_window=2, change_type="absolute", amount=0.1)
    assert evaluate_metric("RUN_METRIC_CHANGE", absolute, [1, -1, 5], 3).matched


def test_change_with_nan_or_opposite_infinities_does_not_match() -> None:
    f = change(window=1, prior_window=2, change_type="absolute", amount=0.1)
    nan = evaluate_metric("RUN_METRIC_CHANGE", f, [1, NAN, 5], 3)
    assert not nan.matched and "NaN" in nan.reason
    inf = evaluate_metric("RUN_METRIC_CHANGE", f, [INF, INF, INF], 3)
    assert not inf.matched and "undefined" in inf.reason
    up = evaluate_metric("RUN_METRIC_CHANGE", f, [1, 1, INF], 3)
    assert up.matched and up.values["metric_value"] == INF


# --- z-score -------------------------------------------------------------------------


def _zscore4(**raw: Any) -> dict[str, Any]:
    return zscore(window=4, **raw)


def test_zscore_directions() -> None:
    values = [1, 2, 1, 2, 10]  # mean 1.5, sample std 0.577 → z ≈ 14.7
    assert evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="above"), values, 5).matched
    assert not evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="below"), values, 5).matched
    assert evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="any"), values, 5).matched
    low = [1, 2, 1, 2, -10]
    assert evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="below"), low, 5).matched
    assert not evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="above"), low, 5).matched
    assert evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(direction="any"), low, 5).matched


def test_zscore_value_and_threshold() -> None:
    values = [1, 2, 1, 2, 2.5]  # z = (2.5 - 1.5) / 0.57735 ≈ 1.732
    verdict = evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(), values, 5)
    assert not verdict.matched
    assert verdict.values["metric_value"] == pytest.approx(math.sqrt(3))
    assert verdict.reason.startswith("zscore(loss, 4) = 1.73205 (loss 2.5, mean 1.5")
    assert evaluate_metric("RUN_METRIC_ZSCORE", _zscore4(threshold=1.7), values, 5).matched


def test_zscore_uses_the_previous_window_only() -> None:
    f = zscore(window=2)
    verdict = evaluate_metric("RUN_METRIC_ZSCORE", f, [1000, -1000, 1, 2, 3], 5)
    # previous = [1, 2]: mean 1.5, std 0.707 → z = 2.12
    assert verdict.values["metric_value"] == pytest.approx(1.5 / math.sqrt(0.5))
    assert verdict.values["metric_values"] == [1.0, 2.0, 3.0]


def test_zscore_needs_window_previous_values() -> None:
    f = zscore(window=5)
    # The case: a 1.00 → 1.02 wiggle with only 4 previous values never fires.
    verdict = evaluate_metric("RUN_METRIC_ZSCORE", f, [1.0, 1.0, 1.02, 1.0, 1.02], 4)
    assert not verdict.matched
    assert verdict.reason == (
        "needs 1 more value of loss (5 of 6 so far: the newest value and the 5 before it)"
    )
    assert evaluate_metric("RUN_METRIC_ZSCORE", f, [1.0, 1.1, 1.0, 1.1, 1.0, 50.0], 5).matched


def _z2(**raw: Any) -> dict[str, Any]:
    return zscore(window=2, **raw)


def test_zscore_zero_variance() -> None:
    same = evaluate_metric("RUN_METRIC_ZSCORE", _z2(), [2.0, 2.0, 2.0, 2.0], 4)
    assert not same.matched
    assert same.values["metric_value"] == 0.0
    assert "no variance" in same.reason
    up = evaluate_metric("RUN_METRIC_ZSCORE", _z2(direction="above"), [2.0, 2.0, 2.5], 3)
    assert up.matched and up.values["metric_value"] == INF
    down = evaluate_metric("RUN_METRIC_ZSCORE", _z2(direction="below"), [2.0, 2.0, 1.5], 3)
    assert down.matched and down.values["metric_value"] == -INF
    wrong_way = evaluate_metric("RUN_METRIC_ZSCORE", _z2(direction="below"), [2, 2, 2.5], 3)
    assert not wrong_way.matched


def test_zscore_with_non_finite_values() -> None:
    assert not evaluate_metric("RUN_METRIC_ZSCORE", _z2(), [1, 2, NAN], 3).matched
    assert not evaluate_metric("RUN_METRIC_ZSCORE", _z2(), [1, NAN, 2, 3], 4).matched
    prev_inf = evaluate_metric("RUN_METRIC_ZSCORE", _z2(), [1, INF, 2, 3], 4)
    assert not prev_inf.matched and "±inf" in prev_inf.reason
    newest_inf = evaluate_metric("RUN_METRIC_ZSCORE", _z2(), [1, 2, 1, INF], 4)
    assert newest_inf.matched and newest_inf.values["metric_value"] == INF


# --- JSON-safe verdicts ---------------------------------------------------------------


def test_verdict_as_json_encodes_non_finite_numbers() -> None:
    f = threshold(cmp="nonfinite", window=3)
    verdict = evaluate_metric("RUN_METRIC_THRESHOLD", f, [1.0, INF, NAN], 3)
    assert verdict.as_json() == {
        "matched": True,
        "reason": "loss is NaN within the last 3 value(s)",
        "values": {
            "metric_name": "loss",
            "metric_value": "NaN",
            "metric_values": [1.0, "Infinity", "NaN"],
            "metric_step": 3,
            "metric_filter": "loss is NaN or ±inf (avg over 3)",
        },
    }
