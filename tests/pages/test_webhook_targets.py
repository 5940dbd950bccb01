"""Viewers and members see a webhook's host only — never its path or query, which often
hold a token (Teams, Discord, inbox URLs) — on every page and in every API answer;
admins see the URL in full. Delivery errors never quote the path, and a refused Slack
incoming webhook is not named at all."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User

from automations import dispatch
from automations.actions import action_for
from automations.models import Attempt, Automation, Execution
from teams.access import Role
from teams.models import Integration, Team, host_only, shown_target
from tests.support.factories import fail_run, make_slack
from tests.support.factories import make_automation as create_automation
from tests.support.web import Clients

TOKEN_PATH = "/webhookb2/tok-PATH-8d1e"
QUERY = "code=qry-TOKEN-77a"
URL = f"https://hooks.teams.example:8443{TOKEN_PATH}?{QUERY}"
HOST = "https://hooks.teams.example:8443/…"
HIDDEN = ("tok-PATH-8d1e", "qry-TOKEN-77a", "webhookb2")


def test_host_only() -> None:
    assert host_only(URL) == HOST
    assert host_only("https://user:pw@example.com/a") == "https://example.com/…"
    assert host_only("http://[::1]:9/x?y") == "http://[::1]:9/…"
    assert host_only("https://example.com") == "https://example.com/"
    assert host_only("https://example.com/") == "https://example.com/"
    assert host_only("https://example.com:99999/x") == "…"  # a port out of range
    assert host_only("not a url") == "…"
    assert shown_target(URL, full=True) == URL
    assert shown_target(URL, full=False) == HOST
    assert shown_target("acme #ml-alerts", full=False) == "acme #ml-alerts"


@pytest.fixture
def hook(team: Team) -> Integration:
    return Integration.objects.create(team=team, kind="webhook", name="teams-hook", url=URL)


@pytest.fixture
def hooked(make_automation: Callable[..., Automation], make_execution: Callable[..., Execution],
           hook: Integration) -> tuple[Automation, Execution]:
    automation = make_automation(integration=hook, action_config={"payload": None})
    return automation, make_execution(automation, status="failed")


def pages(automation: Automation, execution: Execution) -> list[str]:
    scope = automation.scope
    return [
        f"/t/acme/p/{scope.name}/automations/",
        automation.get_absolute_url(),
        execution.get_absolute_url(),
    ]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.MEMBER])
def test_viewers_and_members_see_the_host_only(
    role: str, hooked: tuple[Automation, Execution], make_user: Callable[..., User],
    team: Team, client_for: Clients, api_for: Any,
) -> None:
    automation, execution = hooked
    reader = make_user("reader", team, role)
    client = client_for(reader)
    for path in pages(automation, execution):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "hooks.teams.example" in html, path
        for hidden in HIDDEN:
            assert hidden not in html, (path, hidden)
    api = api_for(reader)
    for path in (f"/teams/acme/executions/{execution.pk}",
                 f"/teams/acme/automations/{automation.pk}/executions"):
        answer = api.get(path)
        assert answer.status_code == 200
        text = answer.content.decode()
        found = answer.json()
        assert (found if isinstance(found, dict) else found[0])["target"] == HOST
        for hidden in HIDDEN:
            assert hidden not in text, (path, hidden)
    # Integration pages and the integrations API are for admins only.
    assert client.get(f"/t/acme/settings/integrations/{automation.integration_id}/").status_code \
        == 403
    assert api.get("/teams/acme/integrations").status_code == 403
    assert api.get("/teams/acme/integrations/teams-hook").status_code == 403


def test_admins_see_the_whole_url(
    hooked: tuple[Automation, Execution], admin: User, client_for: Clients, admin_api: Any
) -> None:
    automation, execution = hooked
    client = client_for(admin)
    assert URL.replace("&", "&amp;") in client.get(execution.get_absolute_url()).content.decode()
    assert admin_api.get(f"/teams/acme/executions/{execution.pk}").json()["target"] == URL


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_connection_error_does_not_quote_the_path(
    team: Team, project: Any, member: User, settings: Any
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    settings.BEACON_RETRY_SCHEDULE = [0]
    url = f"http://127.0.0.1:{closed_port()}{TOKEN_PATH}?{QUERY}"
    hook = Integration.objects.create(team=team, kind="webhook", name="closed", url=url)
    result = action_for(hook).send({"n": 1}, webhook_id="msg_1")
    assert not result.ok and result.error
    assert "127.0.0.1" in result.error
    for hidden in HIDDEN:
        assert hidden not in result.error, result.error


PRIVATE_SLACK = "https://hooks.internal.example/services/T0/B0/slack-TOKEN-3c"


def test_a_refused_slack_webhook_is_not_named(
    team: Team, project: Any, member: User, settings: Any, viewer: User, client_for: Clients,
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    settings.BEACON_RETRY_SCHEDULE = [0]
    slack = make_slack(team, webhook_url=PRIVATE_SLACK)
    create_automation(project, slack, event_type="RUN_STATE", filter={"states": ["failed"]})
    [execution] = dispatch.process(fail_run(project, member))
    with mock.patch("automations.network.resolve", autospec=True,
                    return_value=[ipaddress.ip_address("10.0.0.5")]):
        delivered = dispatch.deliver_execution(execution.pk)
    assert delivered is not None and delivered.status == "failed"
    assert "not a public address" in delivered.error and "10.0.0.5" in delivered.error
    html = client_for(viewer).get(delivered.get_absolute_url()).content.decode()
    for text in (delivered.error, html):
        assert "hooks.internal.example" not in text
        assert "slack-TOKEN-3c" not in text


def test_a_slack_webhook_that_does_not_resolve_is_not_named(team: Team, settings: Any) -> None:
    action = action_for(make_slack(team, webhook_url=PRIVATE_SLACK))
    with mock.patch("automations.network.resolve", autospec=True,
                    side_effect=OSError("Cannot resolve host 'hooks.internal.example'")):
        result = action.send({"text": "x"}, webhook_id="msg_1")
    assert not result.ok and not result.permanent
    assert "hooks.internal.example" not in result.error


def test_an_echoed_path_is_hidden_from_non_admins(
    hooked: tuple[Automation, Execution], viewer: User, admin: User, client_for: Clients,
    api_for: Any,
) -> None:
    _, execution = hooked
    Attempt.objects.create(
        execution=execution, number=1, at=execution.created_at, ok=False, status_code=400,
        response_excerpt=f'{{"you_called": "{TOKEN_PATH}?{QUERY}"}}',
        error=f"Older error quoting {URL}",
    )
    Execution.objects.filter(pk=execution.pk).update(error=f"failed at {TOKEN_PATH}")
    path = f"/teams/acme/executions/{execution.pk}"
    viewer_page = client_for(viewer).get(execution.get_absolute_url()).content.decode()
    viewer_api = api_for(viewer).get(path).json()
    for text in (viewer_page, json.dumps(viewer_api)):
        for hidden in HIDDEN:
            assert hidden not in text, hidden
    assert viewer_api["attempts"][0]["error"] == f"Older error quoting {HOST}"
    admin_api = api_for(admin).get(path).json()
    assert TOKEN_PATH in admin_api["attempts"][0]["response"]
    assert TOKEN_PATH in client_for(admin).get(execution.get_absolute_url()).content.decode()
    # Nothing was rewritten in the database.
    assert Attempt.objects.get(execution=execution).error == f"Older error quoting {URL}"
