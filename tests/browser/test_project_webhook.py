"""A team admin creates a webhook automation on a project's Automations tab, a
training script fails a run through the API, and the admin watches the
execution arrive in the history and opens it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from automations.models import Automation, Execution
from projects.models import Artifact, Project, Run
from teams.models import Integration, Team
from tests.browser.conftest import (
    create_automation,
    login,
    open_execution,
    reload_until,
    shoot,
    start_new_automation,
)
from tests.support.qcluster import running_qcluster
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_create_a_webhook_automation_trigger_it_and_read_its_history(
    page: Any, api_as: Any, team: Team, project: Project, admin: Any, member: Any
) -> None:
    with Receiver() as receiver, running_qcluster():
        hook = Integration.objects.create(
            team=team, kind="webhook", name="ci-hook", url=receiver.url("/hook")
        )
        # A metric automation too, so the run chart shows a threshold and a firing.
        metrics_hook = Integration.objects.create(
            team=team, kind="webhook", name="metrics-hook", url=receiver.url("/metrics")
        )
        Automation.objects.create(
            team=team, name="loss-high", scope_type="project", project=project,
            event_type="RUN_METRIC_THRESHOLD", action_type="WEBHOOK", integration=metrics_hook,
            filter={"metric": "loss", "window": 1, "agg": "avg", "cmp": "gt", "threshold": 0.8},
        )
        script = api_as(member)
        script.call("POST", "/teams/acme/projects/mnist/runs", {"id": "run-1"}, expect=201)
        # loss spikes above 0.8 once, at step 8: the firing marker lands mid-chart.
        rows = [
            {"step": s, "metrics": {"loss": 0.95 if s == 8 else 0.75 - s / 40, "acc": s / 20}}
            for s in range(16)
        ]
        script.call("POST", "/teams/acme/projects/mnist/runs/run-1/history", {"rows": rows},
                    expect=202)
        script.call("POST", "/teams/acme/projects/mnist/artifacts",
                    {"name": "mnist-cnn", "type": "model", "digest": "sha256:1",
                     "metadata": {"acc": 0.93}, "aliases": ["latest"]}, expect=201)

        # Log in through the login page.
        page.goto("/login/")
        shoot(page, "login")
        login(page, "alice", "pw-alice")
        page.goto("/t/acme/")
        assert page.get_by_role("link", name="mnist").first.is_visible()
        shoot(page, "team-home")

        page.goto("/t/acme/p/mnist/")
        shoot(page, "project")
        page.goto("/t/acme/p/mnist/artifacts/mnist-cnn/")
        shoot(page, "artifact")
        page.goto("/t/acme/settings/integrations/")
        shoot(page, "team-settings-integrations")
        page.goto("/t/acme/settings/")
        shoot(page, "team-settings")

        # The project's Automations tab → the guided form.
        start_new_automation(page, "/t/acme/p/mnist/automations/", "project-automations-tab",
                             "RUN_STATE")
        states = page.locator("input[name=filter_states][value=failed]")
        states.wait_for()
        states.check()
        page.locator("input[name=action_type][value=WEBHOOK]").check()
        page.select_option("select[name=webhook_integration]", "ci-hook")
        page.fill(
            "textarea[name=payload]",
            json.dumps({"text": "${run_name} is ${run_status}", "who": "${event_author}"}),
        )
        page.fill("textarea[name=description]", "Tell CI when a run fails")
        automation = create_automation(page, "run-failed-hook", "automation-form")
        assert automation.event_type == "RUN_STATE"
        assert automation.filter["states"] == ["failed"]
        assert automation.integration == hook
        assert page.get_by_role("heading", name="run-failed-hook").is_visible()

        # A training script reports the run as failed through the JSON API.
        script.call("PATCH", "/teams/acme/projects/mnist/runs/run-1", {"state": "failed"})

        delivered = receiver.wait_for(1, path="/hook", timeout=30)
        body = delivered[0].json()
        assert body == {"text": "run-1 is failed", "who": "mia"}
        assert delivered[0].headers.get("webhook-signature", "").startswith("v1,")

        # The execution appears in the automation's history; open it.
        reload_until(
            page,
            lambda: page.locator("tbody .badge-finished").count() > 0,
            what="a finished execution in the automation's history",
        )
        shoot(page, "automation-detail")
        execution = Execution.objects.get(automation=automation)
        page.goto("/t/acme/p/mnist/automations/history/")
        assert page.get_by_role("link", name=f"#{execution.pk}").is_visible()
        shoot(page, "project-history")
        content = open_execution(page, execution)
        assert "run-1 is failed" in content
        assert "200" in content  # the attempt's response status
        shoot(page, "execution-detail")

        # The run page draws the threshold and where the metric automation fired.
        run = Run.objects.get(run_id="run-1")
        assert page.goto(run.get_absolute_url()) is not None
        reload_until(
            page,
            lambda: page.locator("figure[data-chart] .marker-label").count() > 0,
            what="the marker of the metric automation on the run chart",
        )
        assert page.locator("figure[data-chart] .threshold-label").count() >= 1
        page.wait_for_selector("figure[data-chart][data-ready='true'] canvas")
        shoot(page, "run")
        assert Artifact.objects.filter(name="mnist-cnn").exists()
