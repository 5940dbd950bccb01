"""Noise control over the API: an integration's health in GET and re-enabling it with
``PATCH {"enabled": true}``; an automation's ``throttle_minutes`` and ``muted_until``."""

from __future__ import annotations

from typing import Any

import pytest

from automations import dispatch, integration_health
from automations.models import Automation
from projects.models import Project
from teams.models import Integration, Team
from tests.support.api import assert_error
from tests.support.factories import fail_run, make_automation, make_webhook

HOOK = "/teams/acme/integrations/deploy"
AUTOMATIONS = "/teams/acme/automations"


@pytest.fixture
def hook(team: Team) -> Integration:
    return make_webhook(team)


@pytest.fixture
def gone(hook: Integration) -> Integration:
    integration_health.disable(hook, "the destination answered HTTP 410 (gone)")
    return hook


# --- integrations ------------------------------------------------------------------------


def test_get_shows_a_healthy_integration_as_enabled(admin_api: Any, hook: Integration) -> None:
    data = admin_api.get(HOOK).json()
    assert data["enabled"] is True
    assert data["disabled_at"] is None and data["disabled_reason"] == ""
    assert data["failing_since"] is None


def test_get_and_list_show_why_an_integration_is_disabled(
    admin_api: Any, gone: Integration
) -> None:
    for data in (admin_api.get(HOOK).json(), admin_api.get("/teams/acme/integrations").json()[0]):
        assert data["enabled"] is False
        assert data["disabled_reason"] == "the destination answered HTTP 410 (gone)"
        assert data["disabled_at"] == gone.disabled_at.isoformat()


def test_patch_enabled_true_re_enables(admin_api: Any, gone: Integration) -> None:
    response = admin_api.patch(HOOK, json={"enabled": True})
    assert response.status_code == 200
    data = response.json()
    assert data["enabled"] is True and data["disabled_reason"] == "" and data["disabled_at"] is None
    gone.refresh_from_db()
    assert gone.enabled and gone.failing_since is None


def test_patch_enabled_false_disables_by_hand_and_says_who(
    admin_api: Any, hook: Integration
) -> None:
    data = admin_api.patch(HOOK, json={"enabled": False}).json()
    assert data["enabled"] is False and data["disabled_reason"] == "disabled by alice"


def test_patch_enabled_with_other_fields(admin_api: Any, gone: Integration) -> None:
    data = admin_api.patch(
        HOOK, json={"enabled": True, "url": "https://new.example.com/hook"}
    ).json()
    assert data["enabled"] is True and data["url"] == "https://new.example.com/hook"


def test_a_bad_field_leaves_the_integration_disabled(admin_api: Any, gone: Integration) -> None:
    response = admin_api.patch(HOOK, json={"enabled": True, "url": "not a url"})
    assert_error(response, 400, "invalid")
    gone.refresh_from_db()
    assert not gone.enabled


@pytest.mark.parametrize("value", [None, "yes", 1, "true"])
def test_enabled_must_be_a_boolean(admin_api: Any, gone: Integration, value: Any) -> None:
    error = assert_error(admin_api.patch(HOOK, json={"enabled": value}), 400, "invalid")
    assert list(error["fields"]) == ["enabled"]
    gone.refresh_from_db()
    assert not gone.enabled


@pytest.mark.parametrize("who", ["member_api", "viewer_api"])
def test_only_admins_re_enable(
    request: pytest.FixtureRequest, who: str, gone: Integration
) -> None:
    api = request.getfixturevalue(who)
    assert_error(api.patch(HOOK, json={"enabled": True}), 403, "forbidden")
    gone.refresh_from_db()
    assert not gone.enabled


def test_another_team_does_not_see_it(outsider_api: Any, gone: Integration) -> None:
    assert outsider_api.patch(HOOK, json={"enabled": True}).status_code == 404
    gone.refresh_from_db()
    assert not gone.enabled


def test_executions_skipped_while_disabled_say_why_in_the_api(
    admin_api: Any, gone: Integration, project: Project, member: Any
) -> None:
    automation = make_automation(project, gone, event_type="RUN_STATE",
                                 filter={"states": ["failed"]})
    dispatch.process(fail_run(project, member))

    [execution] = admin_api.get(f"{AUTOMATIONS}/{automation.pk}/executions").json()
    assert execution["status"] == "skipped"
    assert execution["error"].startswith("integration deploy is disabled: the destination "
                                         "answered HTTP 410 (gone)")


# --- automations ---------------------------------------------------------------------------


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "on-failure",
        "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
        "action": {"type": "WEBHOOK", "integration": "deploy"},
    }
    data.update(changes)
    return data


def test_an_automation_has_no_throttle_or_mute_by_default(
    admin_api: Any, hook: Integration, project: Project
) -> None:
    data = admin_api.post(AUTOMATIONS, json=body()).json()
    assert data["throttle_minutes"] is None and data["muted_until"] is None


def test_throttle_and_mute_are_created_read_and_patched(
    admin_api: Any, viewer_api: Any, hook: Integration, project: Project
) -> None:
    created = admin_api.post(AUTOMATIONS, json=body(
        throttle_minutes=30, muted_until="2999-01-02T03:04:05Z"))
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["throttle_minutes"] == 30
    assert data["muted_until"] == "2999-01-02T03:04:05+00:00"
    assert viewer_api.get(f"{AUTOMATIONS}/{data['id']}").json()["throttle_minutes"] == 30

    # A PATCH of other fields keeps them; null clears them.
    url = f"{AUTOMATIONS}/{data['id']}"
    kept = admin_api.patch(url, json={"description": "x"}).json()
    assert kept["throttle_minutes"] == 30 and kept["muted_until"] == data["muted_until"]
    cleared = admin_api.patch(url, json={"throttle_minutes": None, "muted_until": None}).json()
    assert cleared["throttle_minutes"] is None and cleared["muted_until"] is None
    automation = Automation.objects.get(pk=data["id"])
    assert automation.throttle_minutes is None and automation.muted_until is None


def test_a_mute_without_an_offset_is_utc_and_zero_means_no_throttle(
    admin_api: Any, hook: Integration, project: Project
) -> None:
    data = admin_api.post(AUTOMATIONS, json=body(
        throttle_minutes=0, muted_until="2999-01-02T03:04")).json()
    assert data["throttle_minutes"] is None
    assert data["muted_until"] == "2999-01-02T03:04:00+00:00"


@pytest.mark.parametrize(("field", "value"), [
    ("throttle_minutes", -1),
    ("throttle_minutes", 30 * 24 * 60 + 1),
    ("throttle_minutes", "10"),
    ("throttle_minutes", True),
    ("throttle_minutes", 1.5),
    ("muted_until", "tomorrow"),
    ("muted_until", "2026-13-45T00:00:00Z"),
    ("muted_until", 1767225600),
    ("muted_until", "2" * 5000),
])
def test_bad_throttle_or_mute_values_are_a_400_naming_the_field(
    admin_api: Any, hook: Integration, project: Project, field: str, value: Any
) -> None:
    error = assert_error(admin_api.post(AUTOMATIONS, json=body(**{field: value})), 400, "invalid")
    assert field in error["fields"]
    assert not Automation.objects.exists()


def test_only_admins_mute_over_the_api(
    admin_api: Any, member_api: Any, hook: Integration, project: Project
) -> None:
    data = admin_api.post(AUTOMATIONS, json=body()).json()
    response = member_api.patch(f"{AUTOMATIONS}/{data['id']}",
                                json={"muted_until": "2999-01-01T00:00:00Z"})
    assert_error(response, 403, "forbidden")
    assert Automation.objects.get(pk=data["id"]).muted_until is None


def test_a_muted_automation_records_skipped_executions_in_the_api(
    admin_api: Any, hook: Integration, project: Project, member: Any
) -> None:
    data = admin_api.post(AUTOMATIONS, json=body(muted_until="2999-01-01T00:00:00Z")).json()
    dispatch.process(fail_run(project, member))

    [execution] = admin_api.get(f"{AUTOMATIONS}/{data['id']}/executions").json()
    assert execution["status"] == "skipped"
    assert execution["error"] == "automation is muted until 2999-01-01T00:00:00+00:00"
