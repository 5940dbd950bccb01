"""The Automations list and the history pages use a constant number of queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.models import Automation, Event, Execution, Scope
from projects.models import Project
from teams.models import Integration, Team


@pytest.fixture
def fill(team: Team, project: Project) -> Callable[[int], Automation]:
    """Add ``n`` automations (alternating webhook and Slack), each with one execution."""
    hook = Integration.objects.create(team=team, kind="webhook", name="hook",
                                      url="https://hooks.example.com/x")
    slack = Integration.objects.create(team=team, kind="slack", name="chat",
                                       workspace="acme", channel="#ml")
    made: list[Automation] = []

    def add(n: int) -> Automation:
        start = len(made)
        for i in range(start, start + n):
            automation = Automation.objects.create(
                team=team, name=f"auto-{i:03d}", scope_type=Scope.PROJECT, project=project,
                event_type="RUN_STATE", filter={"states": ["failed"]},
                action_type="WEBHOOK" if i % 2 else "SLACK_NOTIFICATION",
                integration=hook if i % 2 else slack,
            )
            event = Event.objects.create(
                team=team, type="RUN_STATE", scope_type=Scope.PROJECT, project=project,
                subject=f"acme/mnist/run-{i}", data={},
            )
            Execution.objects.create(automation=automation, event=event,
                                     status="failed" if i % 3 else "finished")
            made.append(automation)
        return made[0]

    return add


def queries_for(client_user: User, url: str) -> int:
    from django.test import Client

    client = Client()
    client.force_login(client_user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url_of",
    [
        lambda a: reverse("project_automations", args=["acme", "mnist"]),
        lambda a: reverse("project_automations", args=["acme", "mnist"]) + "?sort=-last",
        lambda a: reverse("project_history", args=["acme", "mnist"]),
        lambda a: reverse("project_history", args=["acme", "mnist"]) + "?status=failed",
        lambda a: a.get_absolute_url(),
    ],
    ids=["list", "list-by-last-run", "history", "history-failed", "automation-detail"],
)
def test_pages_use_a_constant_number_of_queries(
    admin: User, fill: Callable[[int], Automation], url_of: Callable[[Automation], str]
) -> None:
    first = fill(3)
    few = queries_for(admin, url_of(first))
    fill(57)
    many = queries_for(admin, url_of(first))
    assert many == few, f"{few} queries with 3 rows, {many} with 60"
