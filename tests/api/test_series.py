"""A metric's chart series over the API (``…/runs/{run}/series``) and for the run
page (same answer, session auth): LTTB-downsampled, non-finite values as marks,
automation marks, a step range for zooming, bounded whatever the history."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from django.utils import timezone

from projects.models import MetricPoint, Project, Run
from tests.support.api import assert_error
from tests.support.factories import fired_loss_threshold

SERIES = "/teams/acme/projects/mnist/runs/r1/series"


@pytest.fixture
def run(project: Project, member: Any) -> Run:
    return Run.objects.create(project=project, run_id="r1", author=member)


def seed(run: Run, values: list[float], key: str = "loss") -> None:
    MetricPoint.insert(
        run.pk, [(key, step, MetricPoint.to_db(v)) for step, v in enumerate(values)],
        timezone.now(),
    )


def test_a_short_history_comes_back_whole_with_nonfinite_values_apart(
    viewer_api: Any, run: Run
) -> None:
    run.log_history(
        [(0, {"loss": 2.0}), (1, {"loss": math.nan}), (2, {"loss": 1.5}),
         (3, {"loss": math.inf}), (4, {"loss": -math.inf}), (5, {"loss": 1.0, "acc": 0.5})],
        None,
    )

    response = viewer_api.get(SERIES, data={"metric": "loss"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["metric"] == "loss"
    assert body["count"] == 6
    assert body["downsampled"] is False
    assert body["steps"] == [0, 2, 5]
    assert body["values"] == [2.0, 1.5, 1.0]
    assert body["nonfinite"] == [
        {"step": 1, "value": "NaN"}, {"step": 3, "value": "Infinity"},
        {"step": 4, "value": "-Infinity"},
    ]
    assert body["nonfinite_count"] == 3
    assert (body["first_step"], body["last_step"]) == (0, 5)
    assert body["thresholds"] == [] and body["markers"] == []


def test_a_long_history_is_downsampled_to_the_points_asked_for(
    viewer_api: Any, run: Run
) -> None:
    values = [math.sin(i / 300) for i in range(20_000)]
    values[7_777] = 50.0  # a spike
    values[9_000] = math.nan
    seed(run, values)

    body = viewer_api.get(SERIES, data={"metric": "loss", "points": 200}).json()

    assert body["count"] == 20_000 and body["downsampled"] is True
    assert len(body["steps"]) <= 200 and len(body["steps"]) == len(body["values"])
    assert body["steps"][0] == 0 and body["steps"][-1] == 19_999
    assert body["steps"] == sorted(body["steps"])
    assert 7_777 in body["steps"] and 50.0 in body["values"]
    assert body["nonfinite"] == [{"step": 9_000, "value": "NaN"}]


def test_many_nonfinite_values_are_bounded_and_counted(viewer_api: Any, run: Run) -> None:
    seed(run, [math.nan if i % 2 else float(i) for i in range(5_000)])

    body = viewer_api.get(SERIES, data={"metric": "loss", "points": 100}).json()

    assert body["nonfinite_count"] == 2_500
    assert len(body["nonfinite"]) == 100
    assert body["nonfinite"][0]["step"] == 1 and body["nonfinite"][-1]["step"] == 4_999
    assert len(body["steps"]) <= 100


def test_a_step_range_returns_that_stretch_in_detail(viewer_api: Any, run: Run) -> None:
    seed(run, [float(i % 100) for i in range(10_000)])

    body = viewer_api.get(
        SERIES, data={"metric": "loss", "points": 1000, "start": 4_000, "end": 4_499}
    ).json()

    assert body["count"] == 500 and body["downsampled"] is False
    assert body["steps"] == list(range(4_000, 4_500))
    assert (body["first_step"], body["last_step"]) == (4_000, 4_499)


def test_an_unknown_metric_is_an_empty_series(viewer_api: Any, run: Run) -> None:
    body = viewer_api.get(SERIES, data={"metric": "nope"}).json()
    assert body["count"] == 0 and body["steps"] == [] and body["nonfinite"] == []
    assert body["first_step"] is None and body["last_step"] is None


@pytest.mark.parametrize("query, field", [
    ({}, "metric"),
    ({"metric": "loss", "points": 3}, "points"),
    ({"metric": "loss", "points": 1_000_000}, "points"),
    ({"metric": "loss", "start": 10, "end": 5}, "end"),
    ({"metric": "loss", "start": 2**70}, "start"),
])
def test_bad_queries_are_400_naming_the_field(
    viewer_api: Any, run: Run, query: dict[str, Any], field: str
) -> None:
    error = assert_error(viewer_api.get(SERIES, data=query), 400, "invalid")
    assert field in error["fields"]


def test_points_that_are_not_numbers_are_a_clear_4xx(viewer_api: Any, run: Run) -> None:
    response = viewer_api.get(SERIES, data={"metric": "loss", "points": "many"})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_outsiders_and_unknown_runs_are_404(
    outsider_api: Any, viewer_api: Any, run: Run
) -> None:
    assert_error(outsider_api.get(SERIES, data={"metric": "loss"}), 404, "not_found")
    assert_error(
        viewer_api.get("/teams/acme/projects/mnist/runs/nope/series", data={"metric": "loss"}),
        404, "not_found",
    )


def test_thresholds_and_firings_of_automations_come_with_the_series(
    viewer_api: Any, run: Run, team: Any, project: Project
) -> None:
    run.log_history([(s, {"loss": 3.0 - s / 10}) for s in range(10)], None)
    fired_loss_threshold(run, threshold=2.5, step=4, url="https://example.com/h")

    body = viewer_api.get(SERIES, data={"metric": "loss"}).json()

    assert body["thresholds"] == [{"value": 2.5, "label": "loss-high: avg(loss, 5) > 2.5"}]
    assert body["markers"] == [{"step": 4, "label": "loss-high fired at step 4 (finished)"}]


def test_the_page_url_answers_the_same_with_the_session(
    client_for: Any, viewer: Any, outsider: Any, viewer_api: Any, run: Run
) -> None:
    seed(run, [float(i) for i in range(3_000)])
    url = "/t/acme/p/mnist/runs/r1/series?metric=loss&points=50"

    page = client_for(viewer).get(url)

    assert page.status_code == 200
    assert page.json() == viewer_api.get(SERIES, data={"metric": "loss", "points": 50}).json()
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302  # to the login page
    bad = client_for(viewer).get("/t/acme/p/mnist/runs/r1/series?metric=loss&points=x")
    assert bad.status_code == 400 and "points" in bad.json()["error"]
    bad = client_for(viewer).get("/t/acme/p/mnist/runs/r1/series?metric=loss&points=1")
    assert bad.status_code == 400 and "points" in bad.json()["fields"]


def test_reading_a_100k_point_history_is_quick_and_one_query_for_the_points(
    viewer_api: Any, run: Run, django_assert_max_num_queries: Any
) -> None:
    seed(run, [math.sin(i / 1000) for i in range(100_000)])

    started = time.perf_counter()
    with django_assert_max_num_queries(12):
        body = viewer_api.get(SERIES, data={"metric": "loss"}).json()
    elapsed = time.perf_counter() - started

    assert body["count"] == 100_000 and len(body["steps"]) <= 1000
    print(f"series of a 100,000-point history: {elapsed * 1000:.0f} ms")
    assert elapsed < 10  # generous: a shared 2-core machine; typically well under 1 s
