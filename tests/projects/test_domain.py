"""Project domain rules: run states, metric history (NaN/Infinity, steps), artifact
version numbering, digest dedup and alias moves."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.db import IntegrityError

from automations.models import Event
from projects.models import (
    Artifact,
    ArtifactVersion,
    MetricPoint,
    Run,
    decode_number,
    encode_number,
    validate_alias,
)


@pytest.fixture
def run(project: Any, member: Any) -> Run:
    return Run.start(project, author=member, run_id="r1", display_name="first run")


def test_a_run_starts_running_and_emits_run_state(run: Run, project: Any) -> None:
    assert run.state == "running"
    assert run.name == "first run"
    event = Event.objects.get()
    assert (event.type, event.subject) == ("RUN_STATE", "acme/mnist/r1")
    assert event.data["state"] == "running"


def test_run_ids_are_unique_per_project(run: Run, project: Any, member: Any) -> None:
    with pytest.raises(IntegrityError):
        Run.start(project, author=member, run_id="r1")


def test_the_display_name_falls_back_to_the_id(project: Any, member: Any) -> None:
    assert Run.start(project, author=member, run_id="abc").name == "abc"


def test_state_changes_emit_once_and_unknown_states_are_refused(run: Run, member: Any) -> None:
    assert run.set_state("failed", member) is True
    assert run.set_state("failed", member) is False
    with pytest.raises(ValueError):
        run.set_state("exploded", member)

    run.refresh_from_db()
    assert run.state == "failed"
    states = [e.data["state"] for e in Event.objects.filter(type="RUN_STATE").order_by("id")]
    assert states == ["running", "failed"]
    assert Event.objects.order_by("id").last().data["previous_state"] == "running"


def test_history_stores_nan_and_infinities_and_summarises_the_last_value(
    run: Run, member: Any
) -> None:
    run.log_history([(0, {"loss": 0.5}), (1, {"loss": math.nan, "acc": math.inf})], member)
    run.log_history([(2, {"acc": -math.inf})], member)

    assert run.history("loss")[0] == (0, 0.5)
    assert math.isnan(run.history("loss")[1][1])
    assert run.history("acc") == [(1, math.inf), (2, -math.inf)]
    run.refresh_from_db()
    assert run.summary == {"loss": "NaN", "acc": "-Infinity"}
    assert run.last_step == 2
    assert MetricPoint.objects.get(key="loss", step=1).value is None  # NaN stored as NULL
    assert run.metric_names() == ["acc", "loss"]


def test_steps_must_not_go_backwards(run: Run, member: Any) -> None:
    run.log_history([(5, {"loss": 1.0}), (5, {"acc": 1.0})], member)  # same step is fine

    with pytest.raises(ValueError):
        run.log_history([(6, {"loss": 1.0}), (4, {"loss": 1.0})], member)
    with pytest.raises(ValueError):
        run.log_history([(4, {"loss": 1.0})], member)

    assert MetricPoint.objects.count() == 2


def test_numbers_encode_for_json_and_back() -> None:
    for value in (math.inf, -math.inf, 1.5):
        assert decode_number(encode_number(value)) == value
    assert encode_number(math.nan) == "NaN"
    assert math.isnan(decode_number("NaN"))


def log(project: Any, digest: str, user: Any, **kw: Any) -> tuple[ArtifactVersion, bool]:
    return Artifact.log_version(project, name="m", type="model", digest=digest, author=user, **kw)


def test_versions_are_numbered_and_the_newest_digest_is_not_logged_twice(
    project: Any, member: Any
) -> None:
    v0, created0 = log(project, "a", member)
    v0_again, created_again = log(project, "a", member)
    v1, _ = log(project, "b", member)
    v2, _ = log(project, "a", member)  # same as an older version: still a new version

    assert (created0, created_again) == (True, False)
    assert v0_again.pk == v0.pk
    assert [v.version for v in (v0, v1, v2)] == ["v0", "v1", "v2"]
    assert Event.objects.filter(type="CREATE_ARTIFACT").count() == 3
    assert v2.ref == "acme/mnist/m:v2"


def test_an_artifact_keeps_its_type(project: Any, member: Any) -> None:
    log(project, "a", member)

    with pytest.raises(ValueError):
        Artifact.log_version(project, name="m", type="dataset", digest="b", author=member)
    assert ArtifactVersion.objects.count() == 1


def test_an_alias_names_one_version_and_moves(project: Any, member: Any) -> None:
    v0, _ = log(project, "a", member, aliases=["latest"])
    v1, _ = log(project, "b", member, aliases=["latest"])
    artifact = v0.artifact

    assert v0.alias_names() == []
    assert v1.alias_names() == ["latest"]
    assert artifact.resolve("latest") == v1
    assert v0.add_alias("production", member) is True
    assert v0.add_alias("production", member) is False  # already there: no event
    assert artifact.resolve("production") == v0
    assert v1.add_alias("production", member) is True
    assert artifact.resolve("production") == v1
    aliases = Event.objects.filter(type="ADD_ARTIFACT_ALIAS").values_list("data__alias", flat=True)
    assert list(aliases.order_by("id")) == ["latest", "latest", "production", "production"]


def test_aliases_follow_the_name_rule_and_cannot_look_like_versions() -> None:
    validate_alias("prod.v2-candidate_1")
    for bad in ["v3", "v0", "", "-x", "a b", "x" * 129]:
        with pytest.raises(ValueError):
            validate_alias(bad)


def test_resolve_finds_versions_by_number(project: Any, member: Any) -> None:
    v0, _ = log(project, "a", member)
    log(project, "b", member)

    assert v0.artifact.resolve("v0") == v0
    with pytest.raises(ArtifactVersion.DoesNotExist):
        v0.artifact.resolve("v7")


def test_artifact_version_tags_emit_in_project_scope(project: Any, member: Any) -> None:
    version, _ = Artifact.log_version(project, name="m", type="model", digest="a", author=member)

    assert version.add_tag("validated", member) is True
    assert version.add_tag("validated", member) is False
    assert version.remove_tag("other") is False
    assert version.remove_tag("validated") is True

    added = Event.objects.get(type="ADD_ARTIFACT_TAG")
    assert (added.project, added.registry, added.author) == (project, None, member)
    assert added.data["tag"] == "validated"
    assert added.data["artifact"]["tags"] == ["validated"]
    assert added.data["artifact"]["project"] == "mnist"
    removed = Event.objects.get(type="REMOVE_ARTIFACT_TAG")
    assert removed.data["artifact"]["tags"] == []
    assert removed.author is None
    version.refresh_from_db()
    assert version.tags == []
