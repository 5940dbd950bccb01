"""Fixtures of the automation page tests (tests/automations, tests/pages): a webhook
with an access-token secret, a Slack integration, automations and executions.
Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from automations.models import Automation, Event, Execution, Scope
from projects.models import Project
from teams.models import Integration, Secret, Team
from tests.support.factories import make_slack

SECRET_VALUE = "tok-SUPER-SECRET-4242-zebra"


@pytest.fixture
def token_secret(team: Team) -> Secret:
    return Secret.objects.create(team=team, name="DEPLOY_TOKEN", value=SECRET_VALUE)


@pytest.fixture
def webhook(team: Team, token_secret: Secret) -> Integration:
    return Integration.objects.create(
        team=team,
        kind=Integration.Kind.WEBHOOK,
        name="deploy",
        url="http://127.0.0.1:9/hook",
        access_token_secret=token_secret,
    )


@pytest.fixture
def slack(team: Team) -> Integration:
    return make_slack(team, webhook_url="https://hooks.example/x")


@pytest.fixture
def make_automation(
    team: Team, project: Project, webhook: Integration
) -> Callable[..., Automation]:
    def make(name: str = "on-failure", **kw: Any) -> Automation:
        fields: dict[str, Any] = {
            "team": team,
            "name": name,
            "scope_type": Scope.PROJECT,
            "project": project,
            "event_type": "RUN_STATE",
            "filter": {"states": ["failed"]},
            "action_type": Automation.ActionType.WEBHOOK,
            "integration": webhook,
            "action_config": {"payload": {"text": "${run_name} failed", "auth": "${ACCESS_TOKEN}"}},
        }
        fields.update(kw)
        return Automation.objects.create(**fields)

    return make


@pytest.fixture
def automation(make_automation: Callable[..., Automation]) -> Automation:
    return make_automation()


@pytest.fixture
def make_execution(project: Project) -> Callable[..., Execution]:
    def make(automation: Automation, status: str = "finished", **kw: Any) -> Execution:
        event = Event.objects.create(
            team=automation.team,
            type="RUN_STATE",
            scope_type=Scope.PROJECT,
            project=project,
            subject="acme/mnist/run-1",
            subject_url="/t/acme/p/mnist/runs/run-1/",
            author_name="mia",
            data={"run": {"id": "run-1", "name": "run-1"}, "state": "failed"},
            evaluations=[
                {"automation": automation.pk, "name": automation.name, "matched": True,
                 "reason": "run state is failed (was running)"}
            ],
        )
        return Execution.objects.create(
            automation=automation,
            event=event,
            status=status,
            payload={"text": "run-1 failed", "auth": "••••••"},
            target=automation.integration.target,
            **kw,
        )

    return make
