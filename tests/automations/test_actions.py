from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from unittest import mock

import pytest
import requests
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookResponse
from standardwebhooks import Webhook

from automations.actions import ACTIONS, action_for
from automations.actions.base import EventContext
from automations.actions.slack import SlackAction, build_message
from automations.actions.webhook import WebhookAction
from automations.network import GuardedAdapter
from teams.models import Team
from tests.support.factories import make_slack, make_webhook
from tests.support.http import response
from tests.support.receiver import Receiver

CONTEXT = EventContext(
    what="Run sweep-1 is now failed", filter="run state is failed", where="acme/mnist (project)",
    who="mia", url="http://127.0.0.1:8000/acme/mnist/runs/sweep-1/",
    automation_name="failed-runs", event_type="RUN_STATE",
)


def test_registry_maps_kinds_to_actions(team: Team) -> None:
    assert ACTIONS == {"slack": SlackAction, "webhook": WebhookAction}
    assert isinstance(action_for(make_webhook(team)), WebhookAction)


# --- webhook ---------------------------------------------------------------------------


def test_webhook_posts_signed_json_with_all_headers(team: Team, public_dns: Any,
                                                    settings: Any) -> None:
    settings.BEACON_WEBHOOK_CONNECT_TIMEOUT = 2.5
    settings.BEACON_WEBHOOK_READ_TIMEOUT = 7.0
    integration = make_webhook(team, access_token="tok-123",
                               payload_secret=("DEPLOY_KEY", "pay-secret"))
    action = action_for(integration)

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(204, "")) as post:
        result = action.send({"text": "héllo", "n": 1}, webhook_id="msg_fixed")

    assert result.ok and result.status == 204 and not result.error
    (session, url), kw = post.call_args
    assert url == "https://hooks.example.com/beacon"
    assert isinstance(session.get_adapter(url), GuardedAdapter)
    assert isinstance(session.get_adapter("http://x/"), GuardedAdapter)
    assert session.trust_env is False
    body = kw["data"].decode()
    headers = kw["headers"]
    assert json.loads(body) == {"text": "héllo", "n": 1}
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Bearer tok-123"
    assert headers["webhook-id"] == "msg_fixed"
    assert Webhook(integration.signing_secret).verify(body, headers) == {"text": "héllo", "n": 1}
    expected = base64.b64encode(hmac.new(b"pay-secret", body.encode(), hashlib.sha256).digest())
    assert headers["X-Wandb-Signature"] == expected.decode()
    assert kw["timeout"] == (2.5, 7.0)
    assert kw["allow_redirects"] is False


def test_webhook_without_secrets_sends_no_optional_headers(team: Team, public_dns: Any) -> None:
    action = action_for(make_webhook(team))

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(200)) as post:
        action.send({}, webhook_id="msg_1")

    headers = post.call_args.kwargs["headers"]
    assert "Authorization" not in headers and "X-Wandb-Signature" not in headers
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (408, False), (429, False), (400, True), (404, True),
     (410, True), (301, True)],
)
def test_webhook_failures_say_whether_retrying_helps(
    team: Team, public_dns: Any, status: int, permanent: bool
) -> None:
    action = action_for(make_webhook(team))
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    return_value=response(status, "x" * 5000, {"Location": "https://x"})):
        result = action.send({}, webhook_id="msg_1")

    assert not result.ok and result.status == status and result.permanent is permanent
    # The action keeps the raw response; the caller masks secrets, then cuts it
    # (masking.masked_excerpt), so a secret cannot be split by the cut first.
    assert result.response_excerpt == "x" * 5000


@pytest.mark.parametrize("exc", [requests.ConnectTimeout("slow"), requests.ConnectionError("no")])
def test_webhook_network_errors_are_transient(team: Team, public_dns: Any, exc: Exception) -> None:
    action = action_for(make_webhook(team))
    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True,
                    side_effect=exc):
        result = action.send({}, webhook_id="msg_1")

    assert not result.ok and result.status is None and not result.permanent
    assert result.error


def test_webhook_to_a_private_address_is_refused_without_sending(team: Team,
                                                                 settings: Any) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    action = action_for(make_webhook(team, "http://169.254.169.254/latest/meta-data"))

    with mock.patch("automations.actions.webhook.requests.Session.post", autospec=True) as post:
        result = action.send({}, webhook_id="msg_1")

    assert post.call_count == 0
    assert result.permanent and "not a public address" in result.error


def test_empty_payload_template_sends_the_full_event(team: Team) -> None:
    action = action_for(make_webhook(team))
    full = {"event": {"id": 1}}

    assert action.build({"payload": None}, {"run_name": "x"}, CONTEXT, full) == full
    assert action.build({"payload": {"r": "${run_name}"}}, {"run_name": "x"}, CONTEXT, full) == {
        "r": "x"
    }


def test_payload_secrets_are_substituted_only_when_attached(team: Team) -> None:
    action = action_for(make_webhook(team, access_token="tok", payload_secret=("KEY", "v")))

    built = action.build({"payload": {"a": "${ACCESS_TOKEN}", "k": "${KEY}"}}, {}, CONTEXT, {})

    assert built == {"a": "tok", "k": "v"}
    assert action.secrets() == {"ACCESS_TOKEN": "tok", "KEY": "v"}


# --- slack ------------------------------------------------------------------------------


def test_slack_message_says_what_where_who_and_links_back() -> None:
    message = build_message(severity="ERROR", title="sweep-1 failed",
                            message="Look at *this*", context=CONTEXT)

    header, body, facts, context, actions = message["blocks"]
    assert header["type"] == "header"
    assert "ERROR" in header["text"]["text"] and "sweep-1 failed" in header["text"]["text"]
    assert body["text"]["text"] == "Look at *this*"
    text = facts["text"]["text"]
    assert "*What:* Run sweep-1 is now failed" in text
    assert "*Filter:* run state is failed" in text
    assert "*Where:* acme/mnist (project)" in text
    assert "*Who:* mia" in text
    assert "failed-runs" in context["elements"][0]["text"]
    assert actions["elements"][0]["url"] == CONTEXT.url
    assert "ERROR" in message["text"] and CONTEXT.url in message["text"]


@pytest.mark.parametrize(("severity", "word"), [("INFO", "INFO"), ("WARN", "WARN"),
                                                ("ERROR", "ERROR")])
def test_slack_severity_is_shown(severity: str, word: str) -> None:
    message = build_message(severity=severity, title="", message="", context=CONTEXT)

    assert word in message["blocks"][0]["text"]["text"]
    assert len(message["blocks"]) == 4  # no message section without a message


def test_slack_escapes_names_so_they_cannot_ping_or_link() -> None:
    context = EventContext(what="Run <!channel> & <http://evil|x>", filter="", where="w",
                           who="m", url="")
    text = build_message(severity="INFO", title="", message="", context=context)["blocks"][1]

    assert "<!channel>" not in text["text"]["text"]
    assert "&lt;!channel&gt; &amp;" in text["text"]["text"]


def test_slack_templates_are_rendered(team: Team) -> None:
    action = action_for(make_slack(team, webhook_url="https://hooks.slack.com/services/x"))

    built = action.build({"title": "${run_name} failed", "message": "by ${event_author}",
                          "severity": "WARN"},
                         {"run_name": "sweep-1", "event_author": "mia"}, CONTEXT, {})

    assert "sweep-1 failed" in built["blocks"][0]["text"]["text"]
    assert built["blocks"][1]["text"]["text"] == "by mia"


def test_slack_incoming_webhook_mode(team: Team, public_dns: Any) -> None:
    action = action_for(make_slack(team, webhook_url="https://hooks.slack.com/services/T/B/X"))
    message = build_message(severity="INFO", title="t", message="", context=CONTEXT)

    with mock.patch("automations.actions.slack.WebhookClient.send", autospec=True,
                    return_value=WebhookResponse(url="u", status_code=200, body="ok",
                                                 headers={})) as send:
        result = action.send(message, webhook_id="msg_1")

    assert result.ok and result.status == 200
    client = send.call_args.args[0]
    assert client.url == "https://hooks.slack.com/services/T/B/X"
    assert send.call_args.kwargs == {"text": message["text"], "blocks": message["blocks"]}


def test_slack_webhook_errors(team: Team, public_dns: Any) -> None:
    action = action_for(make_slack(team, webhook_url="https://hooks.slack.com/services/T/B/X"))
    with mock.patch("automations.actions.slack.WebhookClient.send", autospec=True,
                    return_value=WebhookResponse(url="u", status_code=404,
                                                 body="no_service", headers={})):
        result = action.send({"text": "x"}, webhook_id="msg_1")

    assert not result.ok and result.permanent and "no_service" in result.error


def test_slack_bot_mode_posts_to_the_configured_api(team: Team, settings: Any) -> None:
    settings.SLACK_API_URL = "http://127.0.0.1:9/api/"
    action = action_for(make_slack(team, bot_token="xoxb-1", channel_id="C42"))

    with mock.patch("automations.actions.slack.WebClient.chat_postMessage", autospec=True,
                    return_value=mock.Mock(status_code=200, data={"ok": True})) as post:
        result = action.send({"text": "hi", "blocks": [{"type": "divider"}]},
                             webhook_id="msg_1")

    assert result.ok
    assert result.response_excerpt == '{"ok": true}'  # Slack's JSON, not a Python repr
    client = post.call_args.args[0]
    assert client.base_url == "http://127.0.0.1:9/api/" and client.token == "xoxb-1"
    assert post.call_args.kwargs == {"channel": "C42", "text": "hi",
                                     "blocks": [{"type": "divider"}]}


def test_slack_api_errors_are_permanent_or_not(team: Team, settings: Any) -> None:
    settings.SLACK_API_URL = "http://127.0.0.1:9/api/"
    action = action_for(make_slack(team, bot_token="xoxb-1"))

    def error(code: str, status: int = 200) -> SlackApiError:
        resp = SlackResponse(client=None, http_verb="POST", api_url="u", req_args={},
                             data={"ok": False, "error": code}, headers={}, status_code=status)
        return SlackApiError("failed", resp)

    with mock.patch("automations.actions.slack.WebClient.chat_postMessage", autospec=True,
                    side_effect=error("channel_not_found")):
        result = action.send({"text": "hi"}, webhook_id="msg_1")
    assert not result.ok and result.permanent and "channel_not_found" in result.error

    with mock.patch("automations.actions.slack.WebClient.chat_postMessage", autospec=True,
                    side_effect=error("ratelimited", 429)):
        assert action.send({"text": "hi"}, webhook_id="msg_1").permanent is False

    with mock.patch("automations.actions.slack.WebClient.chat_postMessage", autospec=True,
                    side_effect=OSError("connection refused")):
        assert action.send({"text": "hi"}, webhook_id="msg_1").permanent is False


def test_slack_to_a_private_webhook_url_is_refused(team: Team, settings: Any) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    action = action_for(make_slack(team, webhook_url="http://10.0.0.5/services/x"))

    result = action.send({"text": "x"}, webhook_id="msg_1")

    assert not result.ok and result.permanent and "not a public address" in result.error


# --- the connection itself is checked (DNS rebinding) ------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_webhook_rebound_to_loopback_is_refused_when_connecting(
    team: Team, settings: Any, public_dns: Any, receiver: Receiver, scheme: str
) -> None:
    # The check resolves the name to a public address; the connection reaches 127.0.0.1.
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    url = receiver.url("/hook").replace("http://", f"{scheme}://")
    action = action_for(make_webhook(team, url))

    result = action.send({"n": 1}, webhook_id="msg_1")

    assert public_dns.call_count == 1
    assert receiver.received() == []
    assert not result.ok and result.permanent and result.status is None
    assert "the connection went to 127.0.0.1" in result.error
    assert "not a public address" in result.error
    assert "BEACON_ALLOWED_PRIVATE_NETWORKS" in result.error


def test_webhook_to_an_allowed_loopback_receiver_is_delivered(
    team: Team, settings: Any, receiver: Receiver
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    action = action_for(make_webhook(team, receiver.url("/hook")))

    result = action.send({"n": 1}, webhook_id="msg_1")

    assert result.ok and result.status == 200, result.error
    [request] = receiver.received()
    assert request.path == "/hook" and request.json() == {"n": 1}
    assert request.headers["webhook-id"] == "msg_1"


def test_webhook_ignores_proxy_settings(team: Team, settings: Any, receiver: Receiver,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Behind a proxy the guard could not see the real destination: connect directly.
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    with Receiver() as proxy:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        action = action_for(make_webhook(team, receiver.url("/hook")))

        result = action.send({"n": 1}, webhook_id="msg_1")

        assert result.ok, result.error
        assert len(receiver.received()) == 1 and proxy.received() == []
