"""The Slack incoming-webhook client, driven for real (slack-sdk over loopback).

Its URL is a secret and user input: a redirect, a proxy or a name that resolves
differently when connecting (DNS rebinding) must not lead it around the network
guard, and slack-sdk's debug logging must not write it to a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from automations.actions import action_for
from teams.models import Team
from tests.support.factories import make_slack
from tests.support.fake_slack import FakeSlack
from tests.support.receiver import Receiver, Recorded


class Redirecting(Receiver):
    """Answers every request with ``302 Location: <target>``."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def _handler(self) -> Any:
        base = super()._handler()
        receiver = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _record(self) -> None:
                receiver.requests.append(Recorded(self.command, self.path, dict(self.headers),
                                                  b""))
                self.send_response(302)
                self.send_header("Location", receiver.target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _record  # noqa: N815
            do_GET = _record  # noqa: N815

        return Handler


@pytest.fixture
def internal() -> Iterator[Receiver]:
    with Receiver() as receiver:
        receiver.respond("/metadata", 200, {"internal": "credentials"})
        yield receiver


def test_slack_webhook_redirect_is_not_followed(team: Team, settings: Any,
                                                internal: Receiver) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    with Redirecting(internal.url("/metadata")) as hook:
        action = action_for(make_slack(team, webhook_url=hook.url("/services/T/B/X")))

        result = action.send({"text": "hi"}, webhook_id="msg_1")

        assert len(hook.received()) == 1
    assert internal.received() == []
    assert not result.ok and result.permanent and result.status == 302
    assert "Redirects are not followed" in result.error
    assert "credentials" not in result.response_excerpt


def test_slack_webhook_url_is_not_logged_even_at_debug(
    team: Team, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    caplog.set_level(logging.DEBUG)
    with FakeSlack() as slack:
        url = slack.webhook_url("T1/B2/very-secret-path")
        action = action_for(make_slack(team, webhook_url=url))

        result = action.send({"text": "hi"}, webhook_id="msg_1")

        assert result.ok and len(slack.received()) == 1
    assert "very-secret-path" not in caplog.text


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_slack_webhook_rebound_to_loopback_is_refused_when_connecting(
    team: Team, settings: Any, public_dns: Any, scheme: str
) -> None:
    # The check resolves the name to a public address; the connection reaches 127.0.0.1.
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = []
    with FakeSlack() as slack:
        url = slack.webhook_url("T1/B2/X3").replace("http://", f"{scheme}://")
        action = action_for(make_slack(team, webhook_url=url))

        result = action.send({"text": "hi"}, webhook_id="msg_1")

        assert slack.received() == []
    assert public_dns.call_count == 1
    assert not result.ok and result.permanent and result.status is None
    assert "the connection went to 127.0.0.1" in result.error
    assert "not a public address" in result.error


def test_slack_webhook_to_an_allowed_loopback_is_delivered(team: Team, settings: Any) -> None:
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    with FakeSlack() as slack:
        action = action_for(make_slack(team, webhook_url=slack.webhook_url("T1/B2/X3")))

        result = action.send({"text": "hi"}, webhook_id="msg_1")

        assert result.ok and result.status == 200, result.error
        [request] = slack.received()
    assert request.path == "/services/T1/B2/X3" and request.json()["text"] == "hi"


def test_slack_webhook_ignores_proxy_settings(team: Team, settings: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Behind a proxy the guard could not see the real destination: connect directly.
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    with FakeSlack() as slack, Receiver() as proxy:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url("/"))
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        action = action_for(make_slack(team, webhook_url=slack.webhook_url("T1/B2/X3")))

        result = action.send({"text": "hi"}, webhook_id="msg_1")

        assert result.ok, result.error
        assert len(slack.received()) == 1 and proxy.received() == []
