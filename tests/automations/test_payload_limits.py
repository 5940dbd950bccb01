"""Payload templates are checked when saved — at most 32 levels deep and 64 KiB as sent —
by the API and the form alike, and hostile JSON in the form or its preview is a form
error, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automations.models import Automation
from automations.validation import MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH
from projects.models import Project
from teams.models import Integration
from tests.automations.test_forms import NEW_PROJECT, PREVIEW, webhook_body
from tests.support.web import Clients


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep (the outer object is level 1)."""
    value: dict[str, Any] = {"text": "${run_name}"}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def api_body(payload: Any) -> dict[str, Any]:
    return {
        "name": "deep", "scope": {"type": "project", "name": "mnist"},
        "event": {"type": "RUN_STATE", "filter": {"states": ["failed"]}},
        "action": {"type": "WEBHOOK", "integration": "deploy", "payload": payload},
    }


def test_the_api_takes_the_deepest_allowed_payload(
    admin_api: Any, project: Project, webhook: Integration
) -> None:
    assert admin_api.post("/teams/acme/automations",
                          json=api_body(nested(MAX_PAYLOAD_DEPTH))).status_code == 201


@pytest.mark.parametrize("depth", [MAX_PAYLOAD_DEPTH + 1, 900])
def test_the_api_refuses_a_payload_nested_too_deep(
    admin_api: Any, project: Project, webhook: Integration, depth: int
) -> None:
    r = admin_api.post("/teams/acme/automations", json=api_body(nested(depth)))
    assert r.status_code == 400
    [message] = r.json()["error"]["fields"]["action.payload"]
    assert f"at most {MAX_PAYLOAD_DEPTH} are allowed" in message
    assert not Automation.objects.exists()


def test_the_api_refuses_a_payload_too_large_as_sent(
    admin_api: Any, project: Project, webhook: Integration
) -> None:
    # 40,000 characters, but 80,000 bytes in UTF-8: the limit counts what is sent.
    r = admin_api.post("/teams/acme/automations", json=api_body({"text": "é" * 40_000}))
    assert r.status_code == 400
    [message] = r.json()["error"]["fields"]["action.payload"]
    assert f"at most {MAX_PAYLOAD_BYTES:,} bytes (64 KiB)" in message
    assert admin_api.post("/teams/acme/automations",
                          json=api_body({"text": "e" * 60_000})).status_code == 201


def test_a_patch_is_held_to_the_same_limits(
    admin_api: Any, project: Project, webhook: Integration
) -> None:
    r = admin_api.post("/teams/acme/automations", json=api_body({"text": "${run_name}"}))
    assert r.status_code == 201
    changed = admin_api.patch(f"/teams/acme/automations/{r.json()['id']}",
                              json={"action": {"payload": nested(100)}})
    assert changed.status_code == 400
    assert "action.payload" in changed.json()["error"]["fields"]


HOSTILE_TEXTS = {
    "an integer of 5,000 digits": '{"n": ' + "9" * 5000 + "}",
    "nesting past the decoder's recursion": "[" * 100_000 + "]" * 100_000,
    "nesting past the limit": json.dumps(nested(MAX_PAYLOAD_DEPTH + 1)),
    "NaN": '{"n": NaN}',
    "a float too large for a double": '{"n": 1e999}',
    "a lone surrogate": '{"s": "\\ud800"}',
    "a lone surrogate in a key": '{"\\udfff": "x"}',
    "a NUL character": '{"s": "a\\u0000b"}',
    "not JSON": '{"text": ',
    "too large": json.dumps({"t": "x" * (MAX_PAYLOAD_BYTES + 1)}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TEXTS))
def test_hostile_json_in_the_form_is_a_form_error(
    name: str, admin: User, project: Project, webhook: Integration, client_for: Clients
) -> None:
    text = HOSTILE_TEXTS[name]
    client = client_for(admin)
    body = webhook_body(event_type="RUN_STATE", filter_states=["failed"], payload=text)
    saved = client.post(NEW_PROJECT, body)
    preview = client.post(PREVIEW, {**body, "scope_type": "project", "scope_name": "mnist"},
                          HTTP_HX_REQUEST="true")
    assert preview.status_code == 200
    assert saved.status_code == 200  # the form again, with the error
    assert not Automation.objects.exists()
    errors = saved.context["form"].errors["payload"]
    assert errors and all(len(message) < 300 for message in errors), errors
    assert 'class="errorlist preview-errors"' in preview.content.decode()


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
).map(lambda value: json.dumps(value, allow_nan=True))
HOSTILE_FIELD = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["9" * 5000, "1e999", "-0", "NaN", "[" * 3000, "\x00", "${run_name}"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(JSON_TEXT, st.text(max_size=200), st.sampled_from(
           sorted(HOSTILE_TEXTS.values()))),
       fields=st.dictionaries(st.sampled_from(
           ["filter_states", "title", "message", "severity", "event_type", "action_type",
            "webhook_integration", "name"]), HOSTILE_FIELD, max_size=4))
def test_the_form_and_its_preview_never_answer_500(
    admin: User, project: Project, webhook: Integration, client_for: Clients,
    payload: str, fields: dict[str, str],
) -> None:
    client = client_for(admin)
    body = webhook_body(event_type="RUN_STATE", filter_states=["failed"], payload=payload,
                        name="fuzzed")
    body.update(fields)
    preview = client.post(PREVIEW, {**body, "scope_type": "project", "scope_name": "mnist"},
                          HTTP_HX_REQUEST="true")
    assert preview.status_code < 500
    saved = client.post(NEW_PROJECT, body)
    assert saved.status_code < 500
    Automation.objects.all().delete()
