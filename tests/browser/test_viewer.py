"""A viewer reads automations and their history but sees no control that would
change anything: no new/edit/delete/toggle/test/redeliver."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Automation, Event, Execution
from projects.models import Project
from teams.models import Integration, Team
from tests.browser.conftest import login, shoot

pytestmark = pytest.mark.browser

EDIT_WORDS = ("New automation", "Create", "Edit", "Delete", "Disable", "Enable", "Test",
              "Redeliver", "Save")


def visible_controls(page: Any) -> list[str]:
    """Texts of every visible button and button-like link inside the main content."""
    found = []
    for el in page.locator("main button, main a.btn, main input[type=submit]").all():
        if el.is_visible():
            found.append((el.inner_text() or el.get_attribute("value") or "").strip())
    return found


def assert_read_only(page: Any) -> None:
    controls = visible_controls(page)
    editing = [c for c in controls if any(w.lower() in c.lower() for w in EDIT_WORDS)]
    assert editing == [], f"a viewer sees edit controls on {page.url}: {editing}"
    assert page.locator("main form[method=post]").count() == 0, page.url
    assert page.locator("main [hx-post]").count() == 0, page.url


def test_a_viewer_sees_automations_read_only(
    page: Any, team: Team, project: Project, admin: Any, viewer: Any
) -> None:
    hook = Integration.objects.create(
        team=team, kind="webhook", name="ci-hook", url="https://ci.example.com/hook"
    )
    automation = Automation.objects.create(
        team=team, name="run-failed-hook", scope_type="project", project=project,
        event_type="RUN_STATE", filter={"states": ["failed"]}, action_type="WEBHOOK",
        integration=hook, action_config={"payload": {"text": "${run_name}"}}, created_by=admin,
    )
    event = Event.objects.create(
        team=team, type="RUN_STATE", scope_type="project", project=project,
        subject="acme/mnist/r1", author=admin, author_name="alice",
        data={"run": {"id": "r1", "name": "r1", "state": "failed"}, "state": "failed"},
    )
    execution = Execution.objects.create(
        automation=automation, event=event, status="failed", payload={"text": "r1"},
        target=hook.url, error="Connection refused", attempt_count=1,
    )

    login(page, "vic", "pw-vic")

    page.goto("/t/acme/p/mnist/automations/")
    assert page.get_by_role("link", name="run-failed-hook").is_visible()
    assert_read_only(page)
    shoot(page, "viewer-automations-tab")

    page.goto(automation.get_absolute_url())
    assert page.get_by_role("heading", name="run-failed-hook").is_visible()
    assert_read_only(page)
    shoot(page, "viewer-automation-detail")

    page.goto(f"/t/acme/executions/{execution.pk}/")
    assert "Connection refused" in page.content()
    assert_read_only(page)
    shoot(page, "viewer-execution-detail")

    # Typing the form's address is refused, not shown.
    response = page.goto("/t/acme/p/mnist/automations/new/")
    assert response is not None and response.status == 403
