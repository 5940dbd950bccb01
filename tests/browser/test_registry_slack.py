"""A team admin creates a registry automation that tells Slack when an alias is
added to a linked version; CI adds the alias through the API; the admin reads
the registry's Automations history and the execution."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Execution
from registries.models import Registry
from teams.models import Integration, Secret, Team
from tests.browser.conftest import (
    create_automation,
    login,
    open_execution,
    reload_until,
    shoot,
    start_new_automation,
)
from tests.support.fake_slack import VALID_TOKEN, FakeSlack
from tests.support.qcluster import running_qcluster

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_registry_alias_automation_posts_to_slack(
    page: Any, api_as: Any, team: Team, registry: Registry, admin: Any, member: Any
) -> None:
    with FakeSlack() as slack, running_qcluster(env={"SLACK_API_URL": slack.api_url}):
        token = Secret.objects.create(team=team, name="SLACK_BOT_TOKEN", value=VALID_TOKEN)
        Integration.objects.create(
            team=team, kind="slack", name="ml-alerts", workspace="acme", channel="#ml-alerts",
            channel_id="C0123456", bot_token_secret=token,
        )
        ci = api_as(member)
        ci.call("POST", "/teams/acme/projects/mnist/artifacts",
                {"name": "mnist-cnn", "type": "model", "digest": "sha256:1"}, expect=201)
        ci.call("POST", "/teams/acme/registries/model/collections/mnist/links",
                {"artifact": "mnist/mnist-cnn:v0"}, expect=201)

        login(page, "alice", "pw-alice")
        page.goto("/t/acme/r/model/")
        shoot(page, "registry")
        start_new_automation(page, "/t/acme/r/model/automations/", "registry-automations-tab",
                             "ADD_ARTIFACT_ALIAS")
        alias = page.locator("input[name=filter_alias_regex]")
        alias.wait_for()
        alias.fill("^production$")
        page.locator("input[name=action_type][value=SLACK_NOTIFICATION]").check()
        page.select_option("select[name=slack_integration]", "ml-alerts")
        page.select_option("select[name=severity]", "WARN")
        page.fill("input[name=title]", "${artifact_version_string} is now ${alias}")
        page.fill("textarea[name=message]", "Promoted by ${event_author}")
        automation = create_automation(page, "promote-to-slack", "automation-form-slack")
        assert automation.scope_type == "registry"
        assert automation.filter["alias_regex"] == "^production$"

        # CI promotes the linked version through the JSON API.
        ci.call("POST", "/teams/acme/registries/model/collections/mnist/versions/v0/aliases",
                {"alias": "staging"})
        ci.call("POST", "/teams/acme/registries/model/collections/mnist/versions/v0/aliases",
                {"alias": "production"})

        (message,) = slack.wait_for_messages(1, settle=1.0)
        assert message["via"] == "api"
        assert message["channel"] == "C0123456"
        shown = str(message.get("text", "")) + str(message.get("blocks", ""))
        assert "acme/model/mnist:v0 is now production" in shown

        # The registry's history tab lists it; its detail explains the match.
        page.goto("/t/acme/r/model/history/")
        reload_until(
            page,
            lambda: page.locator("tbody .badge-finished").count() > 0,
            what="a finished execution in the registry history",
        )
        execution = Execution.objects.get(automation=automation)
        shoot(page, "registry-history")
        content = open_execution(page, execution)
        assert "production" in content
        assert VALID_TOKEN not in content
        shoot(page, "execution-detail-slack")
