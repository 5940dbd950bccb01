"""Slack and webhook integrations over the API (API.md, "Integrations")."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Automation
from teams.models import Integration, Secret
from tests.support.api import assert_error

INTEGRATIONS = "/teams/acme/integrations"
VALUES = {
    "HOOK_TOKEN": "tok-plain-123456",
    "PAYLOAD_KEY": "payload-plain-987654",
    "SLACK_URL": "https://hooks.slack.example/T000/B000/plainsecretpath",
    "BOT_TOKEN": "xoxb-plain-bot-token-5555",
}


@pytest.fixture
def secrets(team: Any) -> dict[str, Secret]:
    return {n: Secret.objects.create(team=team, name=n, value=v) for n, v in VALUES.items()}


def assert_no_secret_values(response: Any) -> None:
    for value in VALUES.values():
        assert value.encode() not in response.content


WEBHOOK = {
    "kind": "webhook",
    "name": "deploy",
    "url": "https://deploy.example.com/hook",
    "access_token_secret": "HOOK_TOKEN",
    "payload_secret": "PAYLOAD_KEY",
}
SLACK = {
    "kind": "slack",
    "name": "alerts",
    "workspace": "acme",
    "channel": "#ml-alerts",
    "webhook_url_secret": "SLACK_URL",
}


def test_a_webhook_integration_is_created_with_a_signing_secret(
    admin_api: Any, secrets: Any
) -> None:
    response = admin_api.post(INTEGRATIONS, json=WEBHOOK)

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "webhook"
    assert body["name"] == "deploy"
    assert body["url"] == WEBHOOK["url"]
    assert body["access_token_secret"] == "HOOK_TOKEN"
    assert body["payload_secret"] == "PAYLOAD_KEY"
    assert body["signing_secret"].startswith("whsec_")
    assert body["signing_secret"] == Integration.objects.get().signing_secret
    one = admin_api.get(f"{INTEGRATIONS}/deploy")
    assert one.json()["signing_secret"] == body["signing_secret"]
    listing = admin_api.get(INTEGRATIONS)
    assert [i["name"] for i in listing.json()] == ["deploy"]
    for r in (response, one, listing):
        assert_no_secret_values(r)


def test_webhook_secrets_are_optional(admin_api: Any) -> None:
    body = {"kind": "webhook", "name": "plain", "url": "http://127.0.0.1:9000/x",
            "access_token_secret": None}

    response = admin_api.post(INTEGRATIONS, json=body)

    assert response.status_code == 201
    assert response.json()["access_token_secret"] is None
    assert response.json()["payload_secret"] is None


def test_slack_integrations_use_a_webhook_url_or_a_bot_token_with_channel_id(
    admin_api: Any, secrets: Any
) -> None:
    by_url = admin_api.post(INTEGRATIONS, json=SLACK)
    by_bot = admin_api.post(
        INTEGRATIONS,
        json={"kind": "slack", "name": "bot", "workspace": "acme", "channel": "#ops",
              "bot_token_secret": "BOT_TOKEN", "channel_id": "C0123"},
    )

    assert by_url.status_code == 201
    assert by_url.json()["webhook_url_secret"] == "SLACK_URL"
    assert by_url.json()["mode"] == "webhook"
    assert by_bot.status_code == 201
    bot = by_bot.json()
    assert (bot["bot_token_secret"], bot["channel_id"]) == ("BOT_TOKEN", "C0123")
    assert by_bot.json()["mode"] == "bot"
    for r in (by_url, by_bot, admin_api.get(INTEGRATIONS), admin_api.get(f"{INTEGRATIONS}/bot")):
        assert_no_secret_values(r)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**WEBHOOK, "url": "ftp://example.com/x"}, "url"),
        ({**WEBHOOK, "url": "not a url"}, "url"),
        ({**WEBHOOK, "url": None}, "url"),
        ({**WEBHOOK, "access_token_secret": "MISSING"}, "access_token_secret"),
        ({**WEBHOOK, "payload_secret": "lower-case"}, "payload_secret"),
        ({**WEBHOOK, "workspace": "acme"}, "workspace"),
        ({**WEBHOOK, "name": "has space"}, "name"),
        ({**WEBHOOK, "kind": "email"}, "kind"),
        ({**SLACK, "webhook_url_secret": None}, "webhook_url_secret"),
        ({**SLACK, "bot_token_secret": "BOT_TOKEN", "channel_id": "C1"}, "bot_token_secret"),
        ({**SLACK, "webhook_url_secret": None, "bot_token_secret": "BOT_TOKEN"}, "channel_id"),
        ({**SLACK, "channel_id": "C1"}, "channel_id"),
        ({**SLACK, "workspace": ""}, "workspace"),
        ({**SLACK, "channel": None}, "channel"),
        ({**SLACK, "webhook_url_secret": "NOPE"}, "webhook_url_secret"),
        ({**SLACK, "url": "https://example.com"}, "url"),
    ],
)
def test_invalid_integrations_are_400_naming_the_field(
    admin_api: Any, secrets: Any, body: dict[str, Any], field: str
) -> None:
    error = assert_error(admin_api.post(INTEGRATIONS, json=body), 400, "invalid")

    assert field in error["fields"]
    assert not Integration.objects.exists()


def test_a_secret_of_another_team_cannot_be_referenced(
    admin_api: Any, other_team: Any
) -> None:
    Secret.objects.create(team=other_team, name="HOOK_TOKEN", value="theirs")

    error = assert_error(admin_api.post(INTEGRATIONS, json=WEBHOOK), 400, "invalid")

    assert "access_token_secret" in error["fields"]


def test_duplicate_names_are_409(admin_api: Any, secrets: Any) -> None:
    admin_api.post(INTEGRATIONS, json=WEBHOOK)

    assert_error(admin_api.post(INTEGRATIONS, json={**SLACK, "name": "deploy"}), 409, "conflict")
    admin_api.post(INTEGRATIONS, json=SLACK)
    assert_error(admin_api.patch(f"{INTEGRATIONS}/alerts", json={"name": "deploy"}), 409,
                 "conflict")


def test_patch_changes_only_what_is_sent(admin_api: Any, secrets: Any) -> None:
    signing = admin_api.post(INTEGRATIONS, json=WEBHOOK).json()["signing_secret"]

    response = admin_api.patch(
        f"{INTEGRATIONS}/deploy", json={"url": "https://new.example.com/h", "payload_secret": None}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["url"] == "https://new.example.com/h"
    assert body["access_token_secret"] == "HOOK_TOKEN"
    assert body["payload_secret"] is None
    assert body["signing_secret"] == signing
    assert_no_secret_values(response)
    renamed = admin_api.patch(f"{INTEGRATIONS}/deploy", json={"name": "ship"})
    assert renamed.json()["name"] == "ship"
    assert_error(admin_api.get(f"{INTEGRATIONS}/deploy"), 404, "not_found")


def test_patch_switches_slack_from_webhook_url_to_bot(admin_api: Any, secrets: Any) -> None:
    admin_api.post(INTEGRATIONS, json=SLACK)

    response = admin_api.patch(
        f"{INTEGRATIONS}/alerts",
        json={"webhook_url_secret": None, "bot_token_secret": "BOT_TOKEN", "channel_id": "C9"},
    )

    assert response.status_code == 200
    assert response.json()["mode"] == "bot"
    integration = Integration.objects.get()
    assert integration.webhook_url_secret is None
    assert integration.bot_token_secret.name == "BOT_TOKEN"


def test_patch_is_validated_like_create(admin_api: Any, secrets: Any) -> None:
    admin_api.post(INTEGRATIONS, json=SLACK)

    for body, field in [
        ({"kind": "webhook"}, "kind"),
        ({"webhook_url_secret": None}, "webhook_url_secret"),
        ({"webhook_url_secret": "NOPE"}, "webhook_url_secret"),
        ({"name": None}, "name"),
        ({"channel": 5}, "channel"),
    ]:
        error = assert_error(admin_api.patch(f"{INTEGRATIONS}/alerts", json=body), 400, "invalid")
        assert field in error["fields"], body
    assert Integration.objects.get().webhook_url_secret.name == "SLACK_URL"


def test_delete_is_204_or_409_while_an_automation_uses_it(
    admin_api: Any, secrets: Any, project: Any, team: Any
) -> None:
    admin_api.post(INTEGRATIONS, json=WEBHOOK)
    admin_api.post(INTEGRATIONS, json=SLACK)
    Automation.objects.create(
        team=team, name="ship-it", scope_type="project", project=project,
        event_type="CREATE_ARTIFACT", action_type="WEBHOOK",
        integration=Integration.objects.get(name="deploy"),
    )

    error = assert_error(admin_api.delete(f"{INTEGRATIONS}/deploy"), 409, "in_use")

    assert "ship-it" in error["message"]
    assert admin_api.delete(f"{INTEGRATIONS}/alerts").status_code == 204
    assert list(Integration.objects.values_list("name", flat=True)) == ["deploy"]
    assert_error(admin_api.delete(f"{INTEGRATIONS}/alerts"), 404, "not_found")


def test_integrations_are_admin_only(
    member_api: Any, viewer_api: Any, outsider_api: Any, admin_api: Any, secrets: Any
) -> None:
    admin_api.post(INTEGRATIONS, json=WEBHOOK)
    for api, status, code in [(member_api, 403, "forbidden"), (viewer_api, 403, "forbidden"),
                              (outsider_api, 404, "not_found")]:
        assert_error(api.get(INTEGRATIONS), status, code)
        assert_error(api.get(f"{INTEGRATIONS}/deploy"), status, code)
        assert_error(api.post(INTEGRATIONS, json={**WEBHOOK, "name": "x"}), status, code)
        assert_error(api.patch(f"{INTEGRATIONS}/deploy", json={"url": "https://x.example"}),
                     status, code)
        assert_error(api.delete(f"{INTEGRATIONS}/deploy"), status, code)
    assert Integration.objects.get().url == WEBHOOK["url"]
