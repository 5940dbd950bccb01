"""The event catalog: specs, filter validation (defaults and errors), descriptions, samples."""

from __future__ import annotations

from typing import Any

import pytest

from automations.events import (
    CATALOG,
    EventType,
    FilterError,
    describe,
    get_spec,
    sample_data,
    source_types_to_specs,
    specs_for_scope,
    validate_filter,
)


def errors_of(scope: str, type: str, raw: Any) -> dict[str, list[str]]:
    with pytest.raises(FilterError) as info:
        validate_filter(scope, type, raw)
    return info.value.fields


# --- catalog ---------------------------------------------------------------------


def test_catalog_lists_every_type_in_its_scope() -> None:
    assert [s.type for s in specs_for_scope("project")] == [
        "RUN_STATE",
        "RUN_METRIC_THRESHOLD",
        "RUN_METRIC_CHANGE",
        "RUN_METRIC_ZSCORE",
        "CREATE_ARTIFACT",
        "ADD_ARTIFACT_ALIAS",
        "ADD_ARTIFACT_TAG",
        "REMOVE_ARTIFACT_TAG",
    ]
    assert [s.type for s in specs_for_scope("registry")] == [
        "LINK_ARTIFACT",
        "ADD_ARTIFACT_ALIAS",
        "UNLINK_ARTIFACT",
        "ADD_ARTIFACT_TAG",
        "REMOVE_ARTIFACT_TAG",
        "ADD_COLLECTION_TAG",
        "REMOVE_COLLECTION_TAG",
    ]
    assert len(CATALOG) == 15


def test_labels_are_words() -> None:
    assert EventType.RUN_STATE.label == "A run changes state"
    assert EventType.RUN_METRIC_THRESHOLD.label == "A run metric crosses a threshold"
    for spec in CATALOG.values():
        assert " " in spec.label and spec.description


def test_get_spec_raises_key_error_for_unknown_pair() -> None:
    assert get_spec("registry", "LINK_ARTIFACT").source == "LINK_ARTIFACT"
    with pytest.raises(KeyError):
        get_spec("project", "LINK_ARTIFACT")
    with pytest.raises(KeyError):
        get_spec("registry", "RUN_STATE")


def test_metric_types_listen_to_run_metric_events() -> None:
    assert [s.type for s in source_types_to_specs("project", "RUN_METRIC")] == [
        "RUN_METRIC_THRESHOLD",
        "RUN_METRIC_CHANGE",
        "RUN_METRIC_ZSCORE",
    ]
    assert [s.type for s in source_types_to_specs("project", "RUN_STATE")] == ["RUN_STATE"]
    alias_project = source_types_to_specs("project", "ADD_ARTIFACT_ALIAS")
    alias_registry = source_types_to_specs("registry", "ADD_ARTIFACT_ALIAS")
    assert [s.scope for s in alias_project] == ["project"]
    assert [s.scope for s in alias_registry] == ["registry"]
    assert source_types_to_specs("registry", "RUN_METRIC") == []


def test_every_run_event_accepts_run_filters() -> None:
    for spec in CATALOG.values():
        names = {f.name for f in spec.fields}
        assert ({"run_name_regex", "run_user"} <= names) == spec.is_run_event


# --- validation: defaults -------------------------------------------------------------


def test_threshold_defaults() -> None:
    assert validate_filter(
        "project", "RUN_METRIC_THRESHOLD", {"metric": "loss", "threshold": 2}
    ) == {
        "metric": "loss",
        "window": 5,
        "agg": "avg",
        "cmp": "gt",
        "threshold": 2.0,
    }


def test_change_defaults() -> None:
    assert validate_filter("project", "RUN_METRIC_CHANGE", {"metric": "acc", "amount": 0.1}) == {
        "metric": "acc",
        "window": 10,
        "prior_window": 50,
        "change_type": "relative",
        "direction": "any",
        "amount": 0.1,
    }


def test_zscore_defaults() -> None:
    assert validate_filter("project", "RUN_METRIC_ZSCORE", {"metric": "loss"}) == {
        "metric": "loss",
        "window": 30,
        "threshold": 2.0,
        "direction": "any",
    }


def test_optional_filters_are_kept_and_blank_ones_dropped() -> None:
    cleaned = validate_filter(
        "project",
        "RUN_STATE",
        {"states": ["failed"], "run_name_regex": "^sweep-", "run_user": " "},
    )
    assert cleaned == {"states": ["failed"], "run_name_regex": "^sweep-"}
    assert validate_filter("project", "CREATE_ARTIFACT", {}) == {}
    assert validate_filter("project", "CREATE_ARTIFACT", None) == {}
    assert validate_filter(
        "project", "CREATE_ARTIFACT", {"artifact_name_regex": "^mnist", "artifact_type": "model"}
    ) == {"artifact_name_regex": "^mnist", "artifact_type": "model"}
    assert validate_filter("registry", "LINK_ARTIFACT", {"collection": "mnist"}) == {
        "collection": "mnist"
    }
    assert validate_filter(
        "registry", "ADD_ARTIFACT_ALIAS", {"alias_regex": "^staging$", "collection": "mnist"}
    ) == {"alias_regex": "^staging$", "collection": "mnist"}


def test_states_normalise_crashed_to_failed_and_deduplicate() -> None:
    cleaned = validate_filter("project", "RUN_STATE", {"states": ["crashed", "Failed", "finished"]})
    assert cleaned["states"] == ["failed", "finished"]


def test_numbers_from_form_strings_are_accepted() -> None:
    cleaned = validate_filter(
        "project",
        "RUN_METRIC_THRESHOLD",
        {"metric": "loss", "window": "3", "threshold": "0.5", "cmp": "lte"},
    )
    assert cleaned["window"] == 3 and cleaned["threshold"] == 0.5


def test_nonfinite_needs_no_threshold() -> None:
    cleaned = validate_filter(
        "project",
        "RUN_METRIC_THRESHOLD",
        {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"},
    )
    assert cleaned == {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"}


# --- validation: errors -------------------------------------------------------------


def test_unknown_keys_are_rejected() -> None:
    errors = errors_of("project", "RUN_STATE", {"states": ["failed"], "state": "failed"})
    assert list(errors) == ["state"]
    assert "Unknown filter field" in errors["state"][0]
    assert "states" in errors["state"][0]


def test_unknown_type_in_scope_is_reported_under_type() -> None:
    errors = errors_of("registry", "RUN_STATE", {})
    assert "Unknown event type 'RUN_STATE' for a registry" in errors["type"][0]
    assert "LINK_ARTIFACT" in errors["type"][0]


def test_filter_must_be_an_object() -> None:
    assert "filter" in errors_of("project", "RUN_STATE", ["failed"])


@pytest.mark.parametrize(
    ("states", "message"),
    [
        ([], "Choose at least one"),
        ("failed", "Enter a list"),
        (["killed"], "killed run"),
        (["paused"], "Unknown state 'paused'"),
        ([1], "Enter a list"),
    ],
)
def test_bad_states(states: Any, message: str) -> None:
    assert message in errors_of("project", "RUN_STATE", {"states": states})["states"][0]


def test_states_are_required() -> None:
    assert errors_of("project", "RUN_STATE", {}) == {"states": ["This field is required."]}


def test_threshold_required_unless_nonfinite() -> None:
    errors = errors_of("project", "RUN_METRIC_THRESHOLD", {"metric": "loss", "cmp": "gt"})
    assert errors == {"threshold": ["This field is required."]}


def test_metric_is_required_for_metric_types() -> None:
    for type in ("RUN_METRIC_THRESHOLD", "RUN_METRIC_CHANGE", "RUN_METRIC_ZSCORE"):
        assert errors_of("project", type, {"window": 3}) == {
            "metric": ["This field is required."],
            **({"threshold": ["This field is required."]} if "THRESHOLD" in type else {}),
            **({"amount": ["This field is required."]} if "CHANGE" in type else {}),
        }


@pytest.mark.parametrize(
    ("type", "raw", "field", "message"),
    [
        ("RUN_METRIC_THRESHOLD", {"window": 0}, "window", "at least 1"),
        ("RUN_METRIC_THRESHOLD", {"window": 1001}, "window", "at most 1000"),
        ("RUN_METRIC_THRESHOLD", {"window": 2.5}, "window", "whole number"),
        ("RUN_METRIC_THRESHOLD", {"window": True}, "window", "whole number"),
        ("RUN_METRIC_THRESHOLD", {"agg": "median"}, "agg", "avg, min, max"),
        ("RUN_METRIC_THRESHOLD", {"cmp": ">"}, "cmp", "gt, gte, lt, lte, eq, ne, nonfinite"),
        ("RUN_METRIC_THRESHOLD", {"threshold": "abc"}, "threshold", "Enter a number"),
        ("RUN_METRIC_THRESHOLD", {"threshold": "nan"}, "threshold", "finite"),
        ("RUN_METRIC_THRESHOLD", {"metric": 5}, "metric", "Enter text"),
        ("RUN_METRIC_CHANGE", {"amount": 0}, "amount", "greater than 0"),
        ("RUN_METRIC_CHANGE", {"amount": -1}, "amount", "greater than 0"),
        ("RUN_METRIC_CHANGE", {"prior_window": 10001}, "prior_window", "at most 10000"),
        ("RUN_METRIC_CHANGE", {"prior_window": 0}, "prior_window", "at least 1"),
        ("RUN_METRIC_CHANGE", {"change_type": "percent"}, "change_type", "relative, absolute"),
        ("RUN_METRIC_CHANGE", {"direction": "up"}, "direction", "increase, decrease, any"),
        ("RUN_METRIC_ZSCORE", {"threshold": 0}, "threshold", "greater than 0"),
        ("RUN_METRIC_ZSCORE", {"window": 1}, "window", "at least 2"),
        ("RUN_METRIC_ZSCORE", {"direction": "any-way"}, "direction", "above, below, any"),
    ],
)
def test_out_of_range_and_wrong_types(
    type: str, raw: dict[str, Any], field: str, message: str
) -> None:
    base: dict[str, Any] = {
        "RUN_METRIC_THRESHOLD": {"metric": "loss", "threshold": 1.0},
        "RUN_METRIC_CHANGE": {"metric": "loss", "amount": 1.0},
        "RUN_METRIC_ZSCORE": {"metric": "loss"},
    }[type]
    errors = errors_of("project", type, {**base, **raw})
    assert list(errors) == [field]
    assert message in errors[field][0]


@pytest.mark.parametrize(
    ("scope", "type", "field"),
    [
        ("project", "RUN_STATE", "run_name_regex"),
        ("project", "CREATE_ARTIFACT", "artifact_name_regex"),
        ("project", "ADD_ARTIFACT_ALIAS", "alias_regex"),
        ("registry", "ADD_ARTIFACT_ALIAS", "alias_regex"),
    ],
)
def test_invalid_regexes_are_rejected_with_re2_message(scope: str, type: str, field: str) -> None:
    raw: dict[str, Any] = {"states": ["failed"]} if type == "RUN_STATE" else {}
    raw[field] = r"(a)\1"
    errors = errors_of(scope, type, raw)
    assert list(errors) == [field]
    assert "Invalid regular expression" in errors[field][0]


def test_alias_regex_is_required() -> None:
    assert errors_of("project", "ADD_ARTIFACT_ALIAS", {}) == {
        "alias_regex": ["This field is required."]
    }
    assert errors_of("registry", "ADD_ARTIFACT_ALIAS", {"collection": "x"}) == {
        "alias_regex": ["This field is required."]
    }


def test_all_problems_are_reported_at_once() -> None:
    errors = errors_of(
        "project", "RUN_METRIC_CHANGE", {"window": 0, "amount": -2, "bogus": 1, "metric": ""}
    )
    assert set(errors) == {"window", "amount", "bogus", "metric"}
    assert "window" in str(FilterError(errors))


# --- descriptions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "type", "raw", "expected"),
    [
        (
            "project",
            "RUN_METRIC_THRESHOLD",
            {"metric": "loss", "threshold": 2},
            "avg(loss, 5) > 2.0",
        ),
        (
            "project",
            "RUN_METRIC_THRESHOLD",
            {"metric": "acc", "agg": "min", "cmp": "lte", "window": 3, "threshold": 0.5},
            "min(acc, 3) <= 0.5",
        ),
        (
            "project",
            "RUN_METRIC_THRESHOLD",
            {"metric": "loss", "window": 1, "agg": "max", "cmp": "nonfinite"},
            "loss is NaN or ±inf (max over 1)",
        ),
        (
            "project",
            "RUN_METRIC_THRESHOLD",
            {"metric": "loss", "cmp": "ne", "threshold": 0, "run_name_regex": "^sweep-"},
            "avg(loss, 5) != 0.0 and run name matches ^sweep-",
        ),
        (
            "project",
            "RUN_METRIC_CHANGE",
            {"metric": "loss", "amount": 0.1, "direction": "increase"},
            "avg(loss, 10) vs prior avg(loss, 50) increases by >= 10% (relative)",
        ),
        (
            "project",
            "RUN_METRIC_CHANGE",
            {"metric": "acc", "amount": 0.5, "change_type": "absolute", "direction": "decrease"},
            "avg(acc, 10) vs prior avg(acc, 50) decreases by >= 0.5 (absolute)",
        ),
        (
            "project",
            "RUN_METRIC_ZSCORE",
            {"metric": "loss", "direction": "above"},
            "zscore(loss, 30) > 2.0",
        ),
        (
            "project",
            "RUN_METRIC_ZSCORE",
            {"metric": "loss", "direction": "below", "threshold": 3},
            "zscore(loss, 30) < -3.0",
        ),
        ("project", "RUN_METRIC_ZSCORE", {"metric": "loss"}, "|zscore(loss, 30)| > 2.0"),
        (
            "project",
            "RUN_STATE",
            {"states": ["failed", "finished"]},
            "run state is failed or finished",
        ),
        (
            "project",
            "RUN_STATE",
            {"states": ["running", "finished", "failed"], "run_user": "ada"},
            "run state is running, finished or failed and run user is ada",
        ),
        ("project", "CREATE_ARTIFACT", {}, "any new artifact version"),
        (
            "project",
            "CREATE_ARTIFACT",
            {"artifact_name_regex": "^mnist", "artifact_type": "model"},
            "artifact name matches ^mnist and artifact type is model",
        ),
        ("project", "ADD_ARTIFACT_ALIAS", {"alias_regex": "^prod"}, "alias matches ^prod"),
        ("registry", "LINK_ARTIFACT", {}, "any version linked to any collection"),
        ("registry", "LINK_ARTIFACT", {"collection": "mnist"}, "collection is mnist"),
        (
            "registry",
            "ADD_ARTIFACT_ALIAS",
            {"alias_regex": "^staging$", "collection": "mnist"},
            "alias matches ^staging$ and collection is mnist",
        ),
    ],
)
def test_describe(scope: str, type: str, raw: dict[str, Any], expected: str) -> None:
    assert describe(scope, type, validate_filter(scope, type, raw)) == expected


# --- samples ------------------------------------------------------------------------


def test_samples_carry_absolute_links_and_stable_refs() -> None:
    for (scope, type), spec in CATALOG.items():
        data = sample_data(scope, type, team="acme", scope_name="mnist", base_url="http://b:8000/")
        if spec.is_run_event:
            assert data["run"]["url"].startswith("http://b:8000/")
            assert "/mnist/" in data["run"]["url"]
        if spec.is_artifact_event:
            assert data["artifact"]["stable_ref"].startswith("beacon-artifact://")
        if spec.is_alias_event:
            assert data["alias"]


def test_samples_have_the_shape_of_real_event_data(project: Any, registry: Any, admin: Any) -> None:
    from automations.subjects import collection_data, linked_data, run_data, version_data
    from projects.models import Artifact, Run

    run = Run.start(project, author=admin, display_name="real")
    version, _ = Artifact.log_version(
        project, name="model-a", type="model", digest="d" * 64, metadata={}, author=admin
    )
    linked = registry.link("mnist", version, aliases=[], author=admin)
    real = {"run": run_data(run), "artifact": version_data(version), "linked": linked_data(linked)}

    sample = sample_data(
        "project", "RUN_STATE", team="acme", scope_name=project.name, base_url="http://x"
    )
    assert set(sample) == {"run", "state", "previous_state"}
    assert set(sample["run"]) == set(real["run"])
    metric = sample_data(
        "project", "RUN_METRIC_ZSCORE", team="acme", scope_name=project.name, base_url="http://x"
    )
    assert set(metric) == {"run", "metrics", "first_step", "last_step", "rows"}
    created = sample_data(
        "project", "CREATE_ARTIFACT", team="acme", scope_name=project.name, base_url="http://x"
    )
    assert set(created) == {"artifact"}
    assert set(created["artifact"]) == set(real["artifact"])
    alias = sample_data(
        "project", "ADD_ARTIFACT_ALIAS", team="acme", scope_name=project.name, base_url="http://x"
    )
    assert set(alias) == {"artifact", "alias"}
    for type in ("ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG"):
        tagged = sample_data(
            "project", type, team="acme", scope_name=project.name, base_url="http://x"
        )
        assert set(tagged) == {"artifact", "tag"}
        assert set(tagged["artifact"]) == set(real["artifact"])
    for type, keys in (
        ("LINK_ARTIFACT", {"collection", "linked", "artifact"}),
        ("ADD_ARTIFACT_ALIAS", {"collection", "linked", "artifact", "alias"}),
        ("UNLINK_ARTIFACT", {"collection", "linked", "artifact"}),
        ("ADD_ARTIFACT_TAG", {"collection", "linked", "artifact", "tag"}),
        ("REMOVE_ARTIFACT_TAG", {"collection", "linked", "artifact", "tag"}),
    ):
        data = sample_data(
            "registry", type, team="acme", scope_name=registry.name, base_url="http://x"
        )
        assert set(data) == keys
        assert set(data["linked"]) == set(real["linked"])
        assert set(data["artifact"]) == set(real["artifact"])
    real_collection = collection_data(linked.collection)
    for type in ("ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG"):
        data = sample_data(
            "registry", type, team="acme", scope_name=registry.name, base_url="http://x"
        )
        assert set(data) == {"collection", "collection_info", "tag"}
        assert set(data["collection_info"]) == set(real_collection)


@pytest.mark.parametrize(
    ("scope", "type", "extra", "words"),
    [
        ("project", "ADD_ARTIFACT_TAG", {"artifact_name_regex": "^clf"},
         "tag matches ^validated$ and artifact name matches ^clf"),
        ("project", "REMOVE_ARTIFACT_TAG", {}, "tag matches ^validated$"),
        ("registry", "ADD_ARTIFACT_TAG", {"collection": "digits"},
         "tag matches ^validated$ and collection is digits"),
        ("registry", "REMOVE_COLLECTION_TAG", {"collection": "digits"},
         "tag matches ^validated$ and collection is digits"),
        ("registry", "ADD_COLLECTION_TAG", {}, "tag matches ^validated$"),
    ],
)
def test_tag_filters_need_their_pattern_and_read_as_words(
    scope: str, type: str, extra: dict[str, Any], words: str
) -> None:
    assert errors_of(scope, type, extra) == {"tag_regex": ["This field is required."]}
    assert "tag_regex" in errors_of(scope, type, {"tag_regex": "(unclosed", **extra})
    cleaned = validate_filter(scope, type, {"tag_regex": "^validated$", **extra})
    assert describe(scope, type, cleaned) == words


def test_unlink_filters_on_the_collection_only() -> None:
    assert validate_filter("registry", "UNLINK_ARTIFACT", {}) == {}
    assert describe("registry", "UNLINK_ARTIFACT", {}) == "any version unlinked from any collection"
    assert "alias_regex" in errors_of("registry", "UNLINK_ARTIFACT", {"alias_regex": "x"})
    assert errors_of("project", "UNLINK_ARTIFACT", {})["type"][0].startswith("Unknown event type")
