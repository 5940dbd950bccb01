"""An admin creates a request inbox, points a webhook integration at it, presses
Test on an automation, and sees the signed request arrive as valid."""

from __future__ import annotations

import re
from typing import Any

import pytest

from automations.models import Automation
from inbox.models import Inbox
from projects.models import Project
from teams.models import Integration, Team
from tests.browser.conftest import login, shoot
from tests.support.qcluster import running_qcluster

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_signed_delivery_shows_as_valid_in_the_inbox(
    page: Any, team: Team, project: Project, admin: Any, base_url: str
) -> None:
    with running_qcluster():
        login(page, "alice", "pw-alice")
        page.goto("/t/acme/settings/")
        page.get_by_role("link", name="Inboxes").click()
        page.wait_for_url("**/t/acme/settings/inboxes/")
        page.get_by_label("Name").fill("Deploy tryout")
        page.get_by_role("button", name="Create inbox").click()
        page.wait_for_url(re.compile(r"/settings/inboxes/\d+/$"))
        inbox = Inbox.objects.get(team=team)
        assert inbox.url.startswith(base_url + "/inbox/")
        assert page.locator("#inbox-url").input_value() == inbox.url
        assert page.get_by_text("Waiting for requests").is_visible()

        hook = Integration.objects.create(team=team, kind="webhook", name="tryout", url=inbox.url)
        automation = Automation.objects.create(
            team=team, name="deploy-hook", scope_type="project", project=project,
            event_type="RUN_STATE", filter={"states": ["failed"]}, action_type="WEBHOOK",
            integration=hook, action_config={"payload": {"text": "${run_name} ${run_status}"}},
        )
        inbox_page = page.url

        # Press Test on the automation; the delivery goes through the queue.
        page.goto(automation.get_absolute_url())
        page.get_by_role("button", name=re.compile("^Test")).first.click()
        # Leave only once the result is in: navigating earlier can cancel the POST.
        page.locator(f"#test-result-{automation.pk} .test-result").wait_for(timeout=30_000)
        page.goto(inbox_page)
        # No reload: the list refreshes itself every 2 seconds.
        badge = page.locator(".inbox-request .badge").first
        badge.wait_for(timeout=30_000)
        assert badge.inner_text() == "signature valid (integration tryout)"
        request = page.locator(".inbox-request").first
        assert request.locator("strong.mono").inner_text() == "POST"
        request.locator("summary").click()
        headers = request.locator("dl").inner_text().lower()
        assert "webhook-signature" in headers
        assert "application/json" in headers
        assert '"text":' in request.locator("pre").inner_text()
        page.wait_for_timeout(2500)  # a poll later, the opened headers stay open
        assert request.locator("dl").is_visible()
        shoot(page, "inbox")

        page.goto("/t/acme/settings/inboxes/")
        shoot(page, "inbox-list")
