"""MLflow's metric rules meet Beacon's metric automations: points logged out of step
order, or a step logged again, are judged when they arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from automations.dispatch import evaluate_event, match_automations
from automations.models import Automation, Event
from projects.models import LoggedPoint, Project, Run


@pytest.fixture
def run(project: Project, member: Any) -> Run:
    return Run.start(project, author=member, run_id="r1")


def last_event() -> Event:
    return Event.objects.filter(type="RUN_METRIC").latest("pk")


def verdict(event: Event) -> tuple[bool, str]:
    [match] = evaluate_event(event, match_automations(event))
    return match.verdict.matched, match.verdict.reason


def test_an_out_of_order_point_is_judged_on_its_own_event(
    run: Run, member: Any, make_automation: Callable[..., Automation]
) -> None:
    make_automation(
        "loss-high", event_type="RUN_METRIC_THRESHOLD",
        filter={"metric": "loss", "window": 1, "agg": "max", "cmp": "gt", "threshold": 5},
    )
    run.log_points([LoggedPoint("loss", s, 1.0) for s in range(5)], member)
    assert verdict(last_event())[0] is False
    # Step 2 again, long after step 4: no refusal, and the new value is judged.
    run.log_points([LoggedPoint("loss", 2, 9.0)], member)
    event = last_event()
    assert (event.data["first_step"], event.data["last_step"]) == (2, 2)
    matched, reason = verdict(event)
    assert matched, reason
    assert run.last_step == 4
    assert run.summary["loss"] == 1.0  # the highest step's value stays the latest


def test_a_nan_logged_for_another_metric_at_an_earlier_step_fires(
    run: Run, member: Any, make_automation: Callable[..., Automation]
) -> None:
    make_automation(
        "acc-nan", event_type="RUN_METRIC_THRESHOLD",
        filter={"metric": "acc", "window": 1, "agg": "max", "cmp": "nonfinite"},
    )
    run.log_points([LoggedPoint("loss", s, 1.0) for s in range(10)], member)
    run.log_points([LoggedPoint("acc", 0, float("nan"))], member)
    matched, reason = verdict(last_event())
    assert matched, reason
    assert run.summary["acc"] == "NaN"


def test_a_call_going_backwards_emits_one_event_per_forward_stretch(
    run: Run, member: Any
) -> None:
    run.log_points([LoggedPoint("a", 3, 1.0), LoggedPoint("b", 3, 1.0),
                    LoggedPoint("a", 1, 2.0), LoggedPoint("a", 2, 3.0)], member)
    events = Event.objects.filter(type="RUN_METRIC").order_by("pk")
    assert [(e.data["metrics"], e.data["first_step"], e.data["last_step"], e.data["rows"])
            for e in events] == [(["a", "b"], 3, 3, 1), (["a"], 1, 2, 2)]
    assert run.history("a") == [(1, 2.0), (2, 3.0), (3, 1.0)]
    assert run.summary == {"a": 1.0, "b": 1.0}
