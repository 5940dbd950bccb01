"""Automation thresholds and firings drawn on a run's metric charts."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Automation, Event, Execution
from projects.chart_marks import automation_marks
from projects.models import Project, Run
from teams.models import Integration, Team


@pytest.fixture
def hook(team: Team) -> Integration:
    return Integration.objects.create(
        team=team, kind="webhook", name="hook", url="https://example.com/h"
    )


@pytest.fixture
def run(project: Project, member: Any) -> Run:
    return Run.objects.create(project=project, run_id="r1", author=member)


@pytest.fixture
def automate(team: Team, project: Project, hook: Integration) -> Any:
    def make(name: str, event_type: str, filter: dict[str, Any], **kw: Any) -> Automation:
        return Automation.objects.create(
            team=team, name=name, scope_type="project", project=project,
            event_type=event_type, filter=filter, action_type="WEBHOOK", integration=hook, **kw,
        )

    return make


def fire(automation: Automation, run: Run, step: int, status: str = "finished",
         trigger: str = "event") -> Execution:
    event = Event.objects.create(
        team=automation.team, type="RUN_METRIC", scope_type="project",
        project=run.project, subject=run.ref, data={"run": {"id": run.run_id}},
    )
    return Execution.objects.create(
        automation=automation, event=event, status=status, trigger=trigger,
        match={"matched": True, "reason": "…", "values": {"metric_step": step}},
    )


def threshold(metric: str, cmp: str = "gt", value: float = 2.0) -> dict[str, Any]:
    return {"metric": metric, "window": 5, "agg": "avg", "cmp": cmp, "threshold": value}


def test_thresholds_of_automations_watching_a_metric(automate: Any, run: Run) -> None:
    automate("loss-high", "RUN_METRIC_THRESHOLD", threshold("loss", "gt", 2.0))
    automate("acc-low", "RUN_METRIC_THRESHOLD", threshold("acc", "lte", 0.5))

    marks = automation_marks(run)

    assert marks["loss"]["thresholds"] == [(2.0, "loss-high: avg(loss, 5) > 2.0")]
    assert marks["acc"]["thresholds"] == [(0.5, "acc-low: avg(acc, 5) <= 0.5")]
    assert marks["loss"]["markers"] == []


def test_nonfinite_disabled_and_other_kinds_draw_no_threshold(automate: Any, run: Run) -> None:
    automate("nan", "RUN_METRIC_THRESHOLD", threshold("loss", "nonfinite"))
    automate("off", "RUN_METRIC_THRESHOLD", threshold("loss", "gt", 9.0), enabled=False)
    automate("z", "RUN_METRIC_ZSCORE", {"metric": "loss", "window": 30, "threshold": 2.0,
                                        "direction": "any"})
    automate("state", "RUN_STATE", {"states": ["failed"]})

    assert automation_marks(run) == {}


def test_markers_where_metric_automations_fired_on_this_run(
    automate: Any, run: Run, project: Project
) -> None:
    high = automate("loss-high", "RUN_METRIC_THRESHOLD", threshold("loss"))
    z = automate("z", "RUN_METRIC_ZSCORE", {"metric": "loss", "window": 30, "threshold": 2.0,
                                            "direction": "any"})
    other_run = Run.objects.create(project=project, run_id="r2")
    fire(high, run, 40)
    fire(z, run, 55, status="failed")
    fire(high, run, 60, status="pending")
    fire(high, run, 70, status="skipped")
    fire(high, run, 80, trigger="test")
    fire(high, other_run, 90)

    marks = automation_marks(run)

    assert [step for step, _ in marks["loss"]["markers"]] == [40, 55, 60]
    assert marks["loss"]["markers"][1] == (55, "z fired at step 55 (failed)")


def test_another_projects_automations_do_not_mark_this_run(
    team: Team, hook: Integration, run: Run
) -> None:
    other = Project.objects.create(team=team, name="other")
    auto = Automation.objects.create(
        team=team, name="elsewhere", scope_type="project", project=other,
        event_type="RUN_METRIC_THRESHOLD", filter=threshold("loss"), action_type="WEBHOOK",
        integration=hook,
    )
    same_id = Run.objects.create(project=other, run_id="r1")
    fire(auto, same_id, 10)

    assert automation_marks(run) == {}


def test_a_constant_number_of_queries(
    automate: Any, run: Run, django_assert_num_queries: Any
) -> None:
    for i in range(5):
        fire(automate(f"a{i}", "RUN_METRIC_THRESHOLD", threshold("loss", value=i)), run, i)

    with django_assert_num_queries(2):
        marks = automation_marks(run)

    assert len(marks["loss"]["thresholds"]) == 5
    assert len(marks["loss"]["markers"]) == 5


def test_the_run_page_names_thresholds_and_markers_beside_the_metric_chart(
    automate: Any, run: Run, viewer: Any, client: Any
) -> None:
    run.log_history([(s, {"loss": 3.0 - s / 10, "acc": s / 10}) for s in range(10)], None)
    high = automate("loss-high", "RUN_METRIC_THRESHOLD", threshold("loss", "gt", 2.5))
    fire(high, run, 4)
    client.force_login(viewer)

    html = client.get(run.get_absolute_url()).content.decode()

    # Figures in key order: acc, then loss. The chart itself draws from the series.
    acc_chart = html[html.index('data-metric="acc"'):html.index('data-metric="loss"')]
    loss_chart = html[html.index('data-metric="loss"'):]
    loss_chart = loss_chart[: loss_chart.index("</figure>")]
    assert 'class="threshold-label">loss-high: avg(loss, 5) &gt; 2.5<' in loss_chart
    assert 'class="marker-label">loss-high fired at step 4 (finished)<' in loss_chart
    assert "threshold-label" not in acc_chart and "marker-label" not in acc_chart
    series = client.get(f"{run.get_absolute_url()}series?metric=loss").json()
    assert series["thresholds"] == [{"value": 2.5, "label": "loss-high: avg(loss, 5) > 2.5"}]
    assert [m["step"] for m in series["markers"]] == [4]
