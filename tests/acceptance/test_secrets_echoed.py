"""A receiver that echoes the secrets Beacon sent — JSON-escaped (the mixed form
``SEKRIT\\"q\\\\b/\\u00fc``), URL-encoded, base64 — and puts one across the 2,048-character
cut: no encoding of a secret, nor its first characters, reaches the executions API, the
execution page, the attempt rows, the stored payload or an integration test's answer."""

from __future__ import annotations

import base64
import html
import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from automations import dispatch
from automations.masking import EXCERPT_LIMIT
from automations.models import Attempt, Event, Execution
from tests.support.receiver import Receiver, Recorded
from tests.support.secret_forms import leaks

TOKEN = 'SEKRIT"q\\b/ü-7f3a9c'
PAYLOAD_KEY = "pay/key+with space&more=1"
SECRETS = (TOKEN, PAYLOAD_KEY)


class EchoReceiver(Receiver):
    """Answers 500 with everything it was sent, in several encodings, the Authorization
    header placed so that the excerpt's cut falls inside the token."""

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        auth = request.headers.get("Authorization", "")
        head = '{"pad":"'
        middle = '","auth":"'
        # The token starts 8 characters before the cut ("Bearer " precedes it).
        pad = EXCERPT_LIMIT - 8 - len(head) - len(middle) - len("Bearer ")
        body = head + "x" * pad + middle + json.dumps(auth)[1:-1] + '",' + json.dumps({
            "body": request.text,
            "auth_b64": base64.b64encode(auth.encode()).decode(),
            "auth_quoted": quote(auth, safe=""),
            "auth_plus": quote_plus(auth),
            "basic": base64.b64encode(b"user:" + TOKEN.encode()).decode(),
            "raw": auth,
        })[1:]
        return 500, body.encode(), "application/json"


@pytest.fixture
def echo() -> Any:
    with EchoReceiver() as server:
        yield server


def shown(text: str) -> list[str]:
    """Encodings of any secret in ``text`` (HTML entities decoded first)."""
    plain = html.unescape(text)
    return [f"{secret[:6]}…: {name}" for secret in SECRETS
            for name in leaks(plain, secret) + leaks(text, secret)]


def test_echoed_secrets_are_masked_everywhere(
    admin_api: Any, member_api: Any, viewer_api: Any, project: Any, echo: EchoReceiver,
    settings: Any, client_for: Any, admin: Any, viewer: Any,
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0]
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    assert admin_api.put("/teams/acme/secrets/TOKEN", json={"value": TOKEN}).status_code == 201
    assert admin_api.put("/teams/acme/secrets/PAYLOAD_KEY",
                         json={"value": PAYLOAD_KEY}).status_code == 201
    assert admin_api.post("/teams/acme/integrations", json={
        "kind": "webhook", "name": "echo", "url": echo.url("/hook"),
        "access_token_secret": "TOKEN", "payload_secret": "PAYLOAD_KEY",
    }).status_code == 201
    assert admin_api.post("/teams/acme/automations", json={
        "name": "on-failure", "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
        "action": {"type": "WEBHOOK", "integration": "echo",
                   "payload": {"token": "${ACCESS_TOKEN}", "key": "${PAYLOAD_KEY}"}},
    }).status_code == 201

    member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
    member_api.patch("/teams/acme/projects/mnist/runs/r1", json={"state": "failed"})
    [execution] = dispatch.process(Event.objects.get(type="RUN_STATE", data__state="failed"))
    dispatch.deliver_execution(execution.pk)

    # The secrets really went out, and really came back in every form...
    [sent] = echo.received()
    assert TOKEN in json.loads(sent.text)["token"]
    execution = Execution.objects.get(pk=execution.pk)
    assert execution.status == "failed"
    [attempt] = Attempt.objects.filter(execution=execution)
    assert attempt.status_code == 500 and len(attempt.response_excerpt) <= EXCERPT_LIMIT
    # ...the cut fell inside the token, after "Bearer ":
    assert attempt.response_excerpt.startswith('{"pad":"xxx')
    assert '"auth":"Bearer ' in attempt.response_excerpt

    stored = [attempt.response_excerpt, attempt.error, execution.error,
              json.dumps(execution.payload, ensure_ascii=False), str(execution.payload)]
    for text in stored:
        assert not shown(text), text

    path = f"/teams/acme/executions/{execution.pk}"
    for api in (admin_api, viewer_api):
        answer = api.get(path)
        assert answer.status_code == 200
        assert not shown(answer.content.decode())
        assert not shown(json.dumps(answer.json(), ensure_ascii=False))
    for user in (admin, viewer):
        page = client_for(user).get(execution.get_absolute_url())
        assert page.status_code == 200
        assert not shown(page.content.decode())

    # An integration test's answer, with the whole (uncut) echo in view.
    settings.BEACON_RETRY_SCHEDULE = [0]
    result = admin_api.post("/teams/acme/integrations/echo/test",
                            json={"payload": {"k": "${PAYLOAD_KEY}"}})
    assert result.status_code == 200
    assert result.json()["status"] == 500
    assert not shown(result.content.decode())
    assert not shown(json.dumps(result.json(), ensure_ascii=False))
