"""The real slack-sdk WebhookClient must not follow a redirect: a public incoming-webhook
URL answering 30x to a private address would otherwise get around the network guard
(and the private answer would land in the attempt's response excerpt)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from automations.actions import action_for
from teams.models import Team
from tests.support.factories import make_slack
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
