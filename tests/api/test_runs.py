"""Runs and metrics over the API (API.md, "Runs and metrics")."""

from __future__ import annotations

import math
from typing import Any

from automations.models import Event
from projects.models import MetricPoint, Project, Run
from tests.support.api import assert_error

RUNS = "/teams/acme/projects/mnist/runs"


def start(api: Any, run_id: str = "r1", **body: Any) -> Any:
    response = api.post(RUNS, json={"id": run_id, **body})
    assert response.status_code == 201, response.content
    return response


def test_starting_a_run_creates_the_project_on_first_use(member_api: Any, team: Any) -> None:
    response = member_api.post(
        RUNS,
        json={"id": "r1", "display_name": "first", "config": {"lr": 0.1}, "tags": ["base"]},
    )

    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "r1"
    assert body["display_name"] == "first"
    assert body["state"] == "running"
    assert body["url"].endswith("/r1/")
    assert body["url"].startswith("http")
    assert body["config"] == {"lr": 0.1}
    assert body["tags"] == ["base"]
    assert body["author"] == "mia"
    assert Project.objects.filter(team=team, name="mnist").exists()


def test_a_run_id_is_generated_when_absent(member_api: Any, project: Any) -> None:
    first = member_api.post(RUNS, json={}).json()
    second = member_api.post(RUNS, json={"display_name": "two"}).json()

    assert first["id"] and second["id"] and first["id"] != second["id"]
    assert project.runs.count() == 2


def test_reusing_a_run_id_with_another_body_is_409(
    member_api: Any, admin_api: Any, project: Any
) -> None:
    start(member_api, config={"lr": 0.1})

    assert_error(member_api.post(RUNS, json={"id": "r1"}), 409, "conflict")
    assert_error(member_api.post(RUNS, json={"id": "r1", "config": {"lr": 0.2}}), 409, "conflict")
    # The same body from another user is not a retry of this start.
    assert_error(admin_api.post(RUNS, json={"id": "r1", "config": {"lr": 0.1}}), 409, "conflict")
    assert project.runs.count() == 1


def test_a_retried_start_with_the_same_body_answers_the_run(
    member_api: Any, project: Any
) -> None:
    body = {"id": "r1", "display_name": "first", "config": {"lr": 0.1}, "tags": ["a"]}
    first = member_api.post(RUNS, json=body)

    again = member_api.post(RUNS, json=body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert project.runs.count() == 1
    assert Event.objects.filter(type="RUN_STATE").count() == 1  # the retry emits nothing


def test_viewers_cannot_start_runs_or_create_projects(viewer_api: Any, team: Any) -> None:
    assert_error(viewer_api.post(RUNS, json={}), 403, "forbidden")
    assert not team.projects.exists()


def test_bad_run_bodies_are_400(member_api: Any, project: Any) -> None:
    for body, field in [
        ({"tags": "a"}, "tags"),
        ({"tags": [1]}, "tags.0"),
        ({"config": []}, "config"),
        ({"display_name": "x" * 300}, "display_name"),
        ({"id": ""}, "id"),
    ]:
        error = assert_error(member_api.post(RUNS, json=body), 400, "invalid")
        assert field in error["fields"], (body, error)
    assert project.runs.count() == 0


def test_history_is_accepted_and_summarised_with_nan_and_infinity(
    member_api: Any, project: Any
) -> None:
    start(member_api)
    rows = [
        {"step": 0, "metrics": {"loss": 0.5, "acc": 1}},
        {"step": 1, "metrics": {"loss": "NaN"}},
        {"step": 2, "metrics": {"acc": "Infinity", "grad": "-Infinity"}},
    ]

    response = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert response.status_code == 202
    assert response.json() == {"accepted": 3}
    run = member_api.get(f"{RUNS}/r1").json()
    assert run["summary"] == {"loss": "NaN", "acc": "Infinity", "grad": "-Infinity"}
    history = member_api.get(f"{RUNS}/r1/history").json()["metrics"]
    assert history["loss"] == [{"step": 0, "value": 0.5}, {"step": 1, "value": "NaN"}]
    assert history["acc"] == [{"step": 0, "value": 1.0}, {"step": 2, "value": "Infinity"}]
    assert history["grad"] == [{"step": 2, "value": "-Infinity"}]
    stored = Run.objects.get(run_id="r1")
    assert math.isnan(stored.history("loss")[1][1])
    assert stored.history("grad") == [(2, -math.inf)]


def test_one_metric_can_be_read_alone(member_api: Any, project: Any) -> None:
    start(member_api)
    member_api.post(f"{RUNS}/r1/history", json={"rows": [{"step": 0, "metrics": {"a": 1, "b": 2}}]})

    response = member_api.get(f"{RUNS}/r1/history?metric=b")

    assert response.json() == {"metrics": {"b": [{"step": 0, "value": 2.0}]}}


def test_values_other_than_numbers_and_the_three_strings_are_400(
    member_api: Any, project: Any
) -> None:
    start(member_api)
    for value in ["nan", "inf", "1.0", True, None, [1], {"v": 1}]:
        rows = [{"step": 0, "metrics": {"ok": 1}}, {"step": 1, "metrics": {"loss": value}}]
        error = assert_error(
            member_api.post(f"{RUNS}/r1/history", json={"rows": rows}), 400, "invalid"
        )
        assert list(error["fields"]) == ["rows.1.metrics.loss"], value
    assert not MetricPoint.objects.exists()


def test_steps_must_be_non_negative_integers(member_api: Any, project: Any) -> None:
    start(member_api)
    for step in [-1, 1.5, "3", None, True]:
        rows = [{"step": step, "metrics": {"loss": 1}}]
        error = assert_error(
            member_api.post(f"{RUNS}/r1/history", json={"rows": rows}), 400, "invalid"
        )
        assert list(error["fields"]) == ["rows.0.step"], step


def test_steps_going_backwards_are_400_within_a_call_and_across_calls(
    member_api: Any, project: Any
) -> None:
    start(member_api)
    rows = [{"step": 5, "metrics": {"loss": 1}}, {"step": 4, "metrics": {"loss": 2}}]
    error = assert_error(member_api.post(f"{RUNS}/r1/history", json={"rows": rows}), 400,
                         "invalid")
    assert "rows.1.step" in error["fields"]
    assert not MetricPoint.objects.exists()

    ok = [{"step": 5, "metrics": {"loss": 1}}, {"step": 5, "metrics": {"acc": 1}}]
    assert member_api.post(f"{RUNS}/r1/history", json={"rows": ok}).status_code == 202
    back = [{"step": 3, "metrics": {"loss": 1}}]
    error = assert_error(member_api.post(f"{RUNS}/r1/history", json={"rows": back}), 400,
                         "invalid")
    assert "rows.0.step" in error["fields"]
    assert MetricPoint.objects.count() == 2


def test_a_retried_history_post_is_a_no_op(member_api: Any, project: Any) -> None:
    start(member_api)
    rows = [{"step": s, "metrics": {"loss": 1 / (s + 1), "acc": "NaN"}} for s in range(50)]
    assert member_api.post(f"{RUNS}/r1/history", json={"rows": rows}).status_code == 202

    again = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert again.status_code == 202
    assert again.json() == {"accepted": 50}
    assert MetricPoint.objects.count() == 100
    assert Event.objects.filter(type="RUN_METRIC").count() == 1  # the retry emits nothing


def test_a_retry_that_overlaps_stored_rows_appends_only_the_new_ones(
    member_api: Any, project: Any
) -> None:
    start(member_api)
    rows = [{"step": s, "metrics": {"loss": s / 10}} for s in range(20)]
    member_api.post(f"{RUNS}/r1/history", json={"rows": rows[:12]})

    response = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert response.status_code == 202
    assert [s for s, _ in Run.objects.get(run_id="r1").history("loss")] == list(range(20))
    assert Run.objects.get(run_id="r1").last_step == 19
    last = Event.objects.filter(type="RUN_METRIC").order_by("id").last()
    assert (last.data["first_step"], last.data["last_step"], last.data["rows"]) == (12, 19, 8)


def test_stored_steps_posted_with_other_values_still_go_backwards(
    member_api: Any, project: Any
) -> None:
    start(member_api)
    rows = [{"step": s, "metrics": {"loss": 1.0}} for s in range(5)]
    member_api.post(f"{RUNS}/r1/history", json={"rows": rows})
    changed = [*rows[:3], {"step": 3, "metrics": {"loss": 2.0}}, *rows[4:]]

    error = assert_error(member_api.post(f"{RUNS}/r1/history", json={"rows": changed}), 400,
                         "invalid")

    assert list(error["fields"]) == ["rows.3.step"]
    assert MetricPoint.objects.count() == 5


def test_a_large_post_is_written_in_chunks_each_with_its_event(
    member_api: Any, project: Any, settings: Any
) -> None:
    settings.BEACON_HISTORY_CHUNK_POINTS = 100
    start(member_api)
    # Two rows per step: a chunk never splits a step.
    rows = [{"step": s // 2, "metrics": {f"m{s % 2}{i}": s for i in range(30)}}
            for s in range(40)]

    response = member_api.post(f"{RUNS}/r1/history", json={"rows": rows})

    assert response.json() == {"accepted": 40}
    assert MetricPoint.objects.count() == 1200
    events = list(Event.objects.filter(type="RUN_METRIC").order_by("id"))
    assert len(events) == 10  # 120 values per chunk: two steps of two rows each
    steps = [(e.data["first_step"], e.data["last_step"]) for e in events]
    assert steps == [(2 * i, 2 * i + 1) for i in range(10)]
    run = Run.objects.get(run_id="r1")
    assert run.last_step == 19
    assert run.summary["m00"] == 38 and run.summary["m129"] == 39


def test_metric_names_must_be_1_to_256_characters(member_api: Any, project: Any) -> None:
    start(member_api)
    for name in ["", "m" * 257]:
        rows = [{"step": 0, "metrics": {name: 1}}]
        error = assert_error(member_api.post(f"{RUNS}/r1/history", json={"rows": rows}), 400,
                             "invalid")
        assert "rows.0.metrics" in error["fields"]
    rows = [{"step": 0, "metrics": {"m" * 256: 1}}]
    assert member_api.post(f"{RUNS}/r1/history", json={"rows": rows}).status_code == 202


def test_ten_thousand_rows_are_accepted_and_more_are_413(member_api: Any, project: Any) -> None:
    start(member_api)
    rows = [{"step": i, "metrics": {"loss": i / 10}} for i in range(10_001)]

    assert_error(member_api.post(f"{RUNS}/r1/history", json={"rows": rows}), 413, "too_large")
    assert not MetricPoint.objects.exists()

    response = member_api.post(f"{RUNS}/r1/history", json={"rows": rows[:10_000]})
    assert response.json() == {"accepted": 10_000}
    assert MetricPoint.objects.count() == 10_000


def test_history_rows_must_be_objects(member_api: Any, project: Any) -> None:
    start(member_api)
    for body in [{"rows": [3]}, {"rows": [{"step": 0, "metrics": [1]}]}, {"rows": "x"}, {}]:
        assert_error(member_api.post(f"{RUNS}/r1/history", json=body), 400, "invalid")


def test_patch_moves_the_run_state_and_emits_run_state(member_api: Any, project: Any) -> None:
    start(member_api)

    response = member_api.patch(f"{RUNS}/r1", json={"state": "failed"})

    assert response.status_code == 200
    assert response.json()["state"] == "failed"
    event = Event.objects.filter(type="RUN_STATE").first()
    assert event is not None
    assert event.data["state"] == "failed"
    assert event.data["previous_state"] == "running"
    assert event.author_name == "mia"


def test_every_state_is_accepted_and_others_are_400(member_api: Any, project: Any) -> None:
    start(member_api)
    for state in ["finished", "failed", "crashed", "killed", "running"]:
        response = member_api.patch(f"{RUNS}/r1", json={"state": state})
        assert response.json()["state"] == state
    error = assert_error(member_api.patch(f"{RUNS}/r1", json={"state": "done"}), 400, "invalid")
    assert "state" in error["fields"]
    assert_error(member_api.patch(f"{RUNS}/r1", json={}), 400, "invalid")


def test_runs_are_listed_newest_first(viewer_api: Any, member_api: Any, project: Any) -> None:
    start(member_api, "a")
    start(member_api, "b")

    response = viewer_api.get(RUNS)

    assert [r["id"] for r in response.json()] == ["b", "a"]


def test_unknown_runs_are_404(member_api: Any, project: Any) -> None:
    assert_error(member_api.get(f"{RUNS}/nope"), 404, "not_found")
    assert_error(member_api.patch(f"{RUNS}/nope", json={"state": "failed"}), 404, "not_found")
    assert_error(member_api.post(f"{RUNS}/nope/history", json={"rows": []}), 404, "not_found")
