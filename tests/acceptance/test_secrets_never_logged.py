"""A secret's value never reaches a log line: not when it is saved, used in a
delivery, echoed back by a failing receiver, or sent in a bad request."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from automations import dispatch
from automations.models import Attempt, Event, Execution
from tests.support.receiver import Receiver

TOKEN = "tok-LOG-canary-7c1f9e"
PAYLOAD_KEY = "key-LOG-canary-2b8d4a"


def test_secret_values_never_appear_in_logs(
    admin_api: Any, member_api: Any, project: Any, receiver: Receiver,
    caplog: pytest.LogCaptureFixture, settings: Any,
) -> None:
    settings.BEACON_RETRY_SCHEDULE = [0]  # one attempt: fail at once
    caplog.set_level(logging.DEBUG)
    # The receiver fails and echoes both secrets back.
    receiver.respond("/hook", 500, {"got": [TOKEN, PAYLOAD_KEY]})

    assert admin_api.put("/teams/acme/secrets/TOKEN", json={"value": TOKEN}).status_code == 201
    assert admin_api.put("/teams/acme/secrets/PAYLOAD_KEY",
                         json={"value": PAYLOAD_KEY}).status_code == 201
    assert admin_api.put("/teams/acme/secrets/bad name", json={"value": TOKEN}).status_code == 400
    assert member_api.put("/teams/acme/secrets/TOKEN", json={"value": TOKEN}).status_code == 403
    assert admin_api.post("/teams/acme/integrations", json={
        "kind": "webhook", "name": "hook", "url": receiver.url("/hook"),
        "access_token_secret": "TOKEN", "payload_secret": "PAYLOAD_KEY",
    }).status_code == 201
    assert admin_api.post("/teams/acme/automations", json={
        "name": "on-failure", "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
        "action": {"type": "WEBHOOK", "integration": "hook",
                   "payload": {"token": "${ACCESS_TOKEN}", "key": "${PAYLOAD_KEY}"}},
    }).status_code == 201
    admin_api.post("/teams/acme/integrations/hook/test", json={"payload": {"k": "${PAYLOAD_KEY}"}})

    member_api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"})
    member_api.patch("/teams/acme/projects/mnist/runs/r1", json={"state": "failed"})
    [execution] = dispatch.process(Event.objects.get(type="RUN_STATE", data__state="failed"))
    dispatch.deliver_execution(execution.pk)

    # The secrets really were sent...
    sent = [r for r in receiver.requests if r.path == "/hook"]
    assert any(TOKEN in r.text and PAYLOAD_KEY in r.text for r in sent)
    assert Execution.objects.get(pk=execution.pk).status == "failed"
    # ...and logged nowhere, nor stored in what the history shows.
    assert caplog.records, "the scenario should have logged something"
    for secret in (TOKEN, PAYLOAD_KEY):
        assert secret not in caplog.text
        for attempt in Attempt.objects.all():
            assert secret not in f"{attempt.response_excerpt} {attempt.error}"
        assert secret not in str(Execution.objects.get(pk=execution.pk).payload)
