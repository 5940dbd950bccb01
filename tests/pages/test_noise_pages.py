"""Noise control in the browser: the disabled-integration banners (Team Settings,
the automation page, the Automations tab), the re-enable button, mute buttons, and
throttle and mute in the automation form; only admins change any of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from automations import dispatch, integration_health
from automations.models import Automation, Scope
from teams.models import Integration
from tests.pages.conftest import Filled
from tests.support.factories import fail_run
from tests.support.web import Clients

REASON = "Slack answered channel_not_found"


@pytest.fixture
def on_failure(filled: Filled) -> Automation:
    return Automation.objects.create(
        team=filled.team, name="tell-slack", scope_type=Scope.PROJECT, project=filled.project,
        event_type="RUN_STATE", filter={"states": ["failed"]},
        action_type=Automation.ActionType.SLACK_NOTIFICATION, integration=filled.slack,
        action_config={"title": "", "message": "", "severity": "INFO"},
    )


@pytest.fixture
def disabled(filled: Filled) -> Integration:
    integration_health.disable(filled.slack, REASON)
    return filled.slack


def enable_url(integration: Integration) -> str:
    return reverse("integration_enable", args=["acme", integration.pk])


def automations_tab() -> str:
    return reverse("project_automations", args=["acme", "mnist"])


# --- banners --------------------------------------------------------------------------


def test_team_settings_shows_a_disabled_integration_with_its_reason_and_the_button(
    filled: Filled, disabled: Integration, admin: User, client_for: Clients
) -> None:
    html = client_for(admin).get(reverse("settings_integrations", args=["acme"])).content.decode()

    assert "alerts is disabled" in html and REASON in html
    assert f'action="{enable_url(disabled)}"' in html and "Re-enable alerts" in html
    assert "deploy is disabled" not in html  # the healthy one has no banner
    assert html.count("integration-disabled") == 1


def test_healthy_integrations_have_no_banner(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    html = client_for(admin).get(reverse("settings_integrations", args=["acme"])).content.decode()
    assert "integration-disabled" not in html and "Re-enable" not in html


def test_the_integration_page_shows_the_banner_and_comes_back_after_re_enabling(
    filled: Filled, disabled: Integration, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    edit = reverse("integration_edit", args=["acme", disabled.pk])
    html = client.get(edit).content.decode()
    assert REASON in html and "Re-enable alerts" in html

    response = client.post(enable_url(disabled), {"next": edit})
    assert response.status_code == 302 and response["Location"] == edit
    disabled.refresh_from_db()
    assert disabled.enabled and disabled.disabled_reason == ""
    assert "integration-disabled" not in client.get(edit).content.decode()


def test_the_automation_page_shows_the_banner_of_its_integration(
    filled: Filled, disabled: Integration, on_failure: Automation, admin: User, viewer: User,
    client_for: Clients,
) -> None:
    html = client_for(admin).get(on_failure.get_absolute_url()).content.decode()
    assert "alerts is disabled" in html and REASON in html and "Re-enable alerts" in html

    seen_by_viewer = client_for(viewer).get(on_failure.get_absolute_url()).content.decode()
    assert "alerts is disabled" in seen_by_viewer and REASON in seen_by_viewer
    assert "Re-enable" not in seen_by_viewer  # viewers see why, admins fix it


def test_the_automations_tab_names_the_automations_a_disabled_integration_stops(
    filled: Filled, disabled: Integration, on_failure: Automation, admin: User,
    member: User, client_for: Clients,
) -> None:
    html = client_for(admin).get(automations_tab()).content.decode()
    assert "Integration alerts is disabled" in html and REASON in html
    assert "tell-slack skips every event" in html
    assert "Integration disabled" in html  # the row's badge
    assert f'action="{enable_url(disabled)}"' in html

    seen_by_member = client_for(member).get(automations_tab()).content.decode()
    assert "Integration alerts is disabled" in seen_by_member
    assert "Re-enable" not in seen_by_member


def test_the_automations_tab_has_no_banner_while_integrations_work(
    filled: Filled, on_failure: Automation, admin: User, client_for: Clients
) -> None:
    html = client_for(admin).get(automations_tab()).content.decode()
    assert "integration-disabled" not in html and "Integration disabled" not in html


def test_re_enabling_from_the_automations_tab_returns_there(
    filled: Filled, disabled: Integration, on_failure: Automation, admin: User,
    client_for: Clients,
) -> None:
    response = client_for(admin).post(enable_url(disabled), {"next": automations_tab()},
                                      follow=True)
    assert response.redirect_chain[-1][0] == automations_tab()
    assert "Integration alerts re-enabled; its automations act again." in [
        str(m) for m in response.context["messages"]
    ]
    disabled.refresh_from_db()
    assert disabled.enabled


def test_re_enable_ignores_a_foreign_next(
    filled: Filled, disabled: Integration, admin: User, client_for: Clients
) -> None:
    response = client_for(admin).post(enable_url(disabled), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("settings_integrations", args=["acme"])


# --- roles --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_only_admins_re_enable(
    filled: Filled, disabled: Integration, who: str, request: pytest.FixtureRequest,
    client_for: Clients,
) -> None:
    response = client_for(request.getfixturevalue(who)).post(enable_url(disabled))
    assert response.status_code == 403
    disabled.refresh_from_db()
    assert not disabled.enabled


def test_another_team_cannot_re_enable(
    filled: Filled, disabled: Integration, outsider: User, client_for: Clients
) -> None:
    assert client_for(outsider).post(enable_url(disabled)).status_code == 404
    disabled.refresh_from_db()
    assert not disabled.enabled


def test_re_enable_is_a_post(
    filled: Filled, disabled: Integration, admin: User, client_for: Clients
) -> None:
    assert client_for(admin).get(enable_url(disabled)).status_code == 405


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_only_admins_mute(
    filled: Filled, on_failure: Automation, who: str, request: pytest.FixtureRequest,
    client_for: Clients,
) -> None:
    url = reverse("automation_mute", args=["acme", on_failure.pk])
    assert client_for(request.getfixturevalue(who)).post(url, {"minutes": "60"}).status_code == 403
    on_failure.refresh_from_db()
    assert on_failure.muted_until is None


# --- mute and throttle ------------------------------------------------------------------------


def test_admin_mutes_for_an_hour_then_unmutes(
    filled: Filled, on_failure: Automation, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    url = reverse("automation_mute", args=["acme", on_failure.pk])
    page = on_failure.get_absolute_url()
    assert "Mute 1 hour" in client.get(page).content.decode()

    before = timezone.now()
    response = client.post(url, {"minutes": "60"})
    assert response.status_code == 302 and response["Location"] == page
    on_failure.refresh_from_db()
    assert before + timedelta(minutes=59) < on_failure.muted_until <= timezone.now() + timedelta(
        minutes=60)
    html = client.get(page).content.decode()
    assert "automation-muted" in html and "Unmute" in html

    client.post(url, {"minutes": "0"})
    on_failure.refresh_from_db()
    assert on_failure.muted_until is None
    assert "automation-muted" not in client.get(page).content.decode()


@pytest.mark.parametrize("minutes", ["", "5", "-60", "abc", "99999999"])
def test_mute_refuses_other_durations(
    filled: Filled, on_failure: Automation, admin: User, client_for: Clients, minutes: str
) -> None:
    url = reverse("automation_mute", args=["acme", on_failure.pk])
    assert client_for(admin).post(url, {"minutes": minutes}).status_code == 400
    on_failure.refresh_from_db()
    assert on_failure.muted_until is None


def test_the_detail_page_shows_throttle_and_mute(
    filled: Filled, on_failure: Automation, viewer: User, client_for: Clients
) -> None:
    Automation.objects.filter(pk=on_failure.pk).update(
        throttle_minutes=15, muted_until=datetime(2999, 1, 2, 3, 4, tzinfo=UTC)
    )
    html = client_for(viewer).get(on_failure.get_absolute_url()).content.decode()
    assert "at most once every 15 minutes per run or artifact" in html
    assert "until 2999-01-02 03:04" in html
    assert "Unmute" not in html and "Mute 1 hour" not in html  # viewers only read


def edit_body(**changes: str) -> dict[str, object]:
    body: dict[str, object] = {
        "event_type": "RUN_STATE", "filter_states": ["failed"],
        "action_type": "SLACK_NOTIFICATION", "slack_integration": "alerts",
        "severity": "INFO", "title": "", "message": "", "name": "tell-slack", "enabled": "on",
    }
    body.update(changes)
    return body


def test_the_form_saves_throttle_and_mute_and_shows_them_again(
    filled: Filled, on_failure: Automation, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    url = reverse("automation_edit", args=["acme", on_failure.pk])
    response = client.post(url, edit_body(throttle_minutes="30", muted_until="2999-05-06T07:08"))
    assert response.status_code == 302
    on_failure.refresh_from_db()
    assert on_failure.throttle_minutes == 30
    assert on_failure.muted_until == datetime(2999, 5, 6, 7, 8, tzinfo=UTC)

    html = client.get(url).content.decode()
    assert 'name="throttle_minutes" value="30"' in html
    assert 'value="2999-05-06T07:08"' in html

    client.post(url, edit_body(throttle_minutes="", muted_until=""))  # emptied: cleared
    on_failure.refresh_from_db()
    assert on_failure.throttle_minutes is None and on_failure.muted_until is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("throttle_minutes", "-1", "greater than or equal to 0"),
    ("throttle_minutes", "many", "Enter a whole number."),
    ("muted_until", "next tuesday", "Enter a valid date/time."),
])
def test_the_form_explains_bad_throttle_and_mute_values(
    filled: Filled, on_failure: Automation, admin: User, client_for: Clients,
    field: str, value: str, message: str,
) -> None:
    url = reverse("automation_edit", args=["acme", on_failure.pk])
    response = client_for(admin).post(url, edit_body(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    on_failure.refresh_from_db()
    assert on_failure.throttle_minutes is None and on_failure.muted_until is None


def test_the_form_marks_a_disabled_integration_among_the_choices(
    filled: Filled, disabled: Integration, on_failure: Automation, admin: User,
    client_for: Clients,
) -> None:
    html = client_for(admin).get(reverse("automation_edit", args=["acme", on_failure.pk]))
    text = html.content.decode()
    assert "alerts — acme #ml-alerts (disabled: events are skipped)" in text
    assert "deploy — https://deploy.example.com/hook</option>" in text  # healthy: unmarked


def test_a_skipped_execution_page_shows_the_reason(
    filled: Filled, disabled: Integration, on_failure: Automation, member: User,
    client_for: Clients,
) -> None:
    [execution] = dispatch.process(fail_run(filled.project, member, "run-9"))
    html = client_for(member).get(execution.get_absolute_url()).content.decode()
    assert execution.status == "skipped"
    assert f"integration alerts is disabled: {REASON}" in html
