"""The page behaviours that moved out of inline handlers (the CSP forbids inline
code) still work in Chromium under the enforced policy: the inbox URL selects
itself, deleting an inbox asks first, the executions filter submits on change,
and the automation form inserts variables and applies presets."""

from __future__ import annotations

import re
from typing import Any

import pytest

from automations.models import Automation
from inbox.models import Inbox
from projects.models import Project
from teams.models import Integration, Team
from tests.browser.conftest import login, settle

pytestmark = pytest.mark.browser


def test_inbox_url_selects_itself_and_delete_asks_first(
    page: Any, team: Team, admin: Any, base_url: str
) -> None:
    inbox = Inbox.objects.create(team=team, name="tryout")
    login(page, "alice", "pw-alice")
    page.goto(f"/t/acme/settings/inboxes/{inbox.pk}/")

    page.locator("#inbox-url").focus()
    selected = page.evaluate(
        "() => { const el = document.getElementById('inbox-url');"
        " return el.value.substring(el.selectionStart, el.selectionEnd); }"
    )
    assert selected == inbox.url

    messages: list[str] = []

    def dismiss(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete inbox").click()
    page.wait_for_timeout(500)
    assert messages == ["Delete the inbox “tryout” and every request it received?"]
    assert Inbox.objects.filter(pk=inbox.pk).exists()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete inbox").click()
    page.wait_for_url(re.compile(r"/settings/inboxes/$"))
    assert not Inbox.objects.filter(pk=inbox.pk).exists()


def test_executions_filter_submits_on_change_and_the_form_inserts_variables(
    page: Any, team: Team, project: Project, admin: Any, base_url: str
) -> None:
    hook = Integration.objects.create(team=team, kind="webhook", name="hook",
                                      url="https://hooks.example.com/x")
    automation = Automation.objects.create(
        team=team, name="on-failure", scope_type="project", project=project,
        event_type="RUN_STATE", filter={"states": ["failed"]}, action_type="WEBHOOK",
        integration=hook, action_config={"payload": {"text": "${run_name}"}},
    )
    login(page, "alice", "pw-alice")
    page.goto(automation.get_absolute_url())
    page.select_option("#id_status", "failed")
    page.wait_for_url(re.compile(r"\?status=failed$"))

    page.goto(f"/t/acme/automations/{automation.pk}/edit/")
    settle(page)
    payload = page.locator("#id_payload")
    payload.fill("")
    payload.focus()
    page.locator("[data-insert]").first.click()
    inserted = page.locator("[data-insert]").first.get_attribute("data-insert")
    assert payload.input_value() == inserted

    preset = page.locator("[data-preset]").first
    preset.click()
    assert payload.input_value() == preset.get_attribute("data-preset")


def test_api_docs_and_admin_render_under_the_policy(page: Any, admin: Any,
                                                     base_url: str) -> None:
    page.goto("/api/v1/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    assert "Beacon" in page.locator(".swagger-ui .info .title").inner_text()

    page.goto("/admin/login/")
    page.get_by_label("Username").wait_for()
