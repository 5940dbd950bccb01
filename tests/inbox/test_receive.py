"""The public receiving endpoint of a request inbox."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.test.utils import override_settings

from automations.signing import standard_headers
from inbox.models import KEEP_REQUESTS, MAX_BODY_BYTES, Inbox, InboxRequest
from teams.models import Integration, Team


def webhook_to(team: Team, url: str, name: str = "deploy-hook") -> Integration:
    return Integration.objects.create(team=team, kind="webhook", name=name, url=url)


def test_it_records_a_post_and_answers_ok(inbox: Inbox) -> None:
    body = json.dumps({"event_type": "RUN_STATE", "run": {"name": "r1"}})
    resp = Client().post(
        inbox.path + "?source=ci", body, content_type="application/json",
        headers={"X-Custom": "yes"},
    )

    assert resp.status_code == 200
    assert resp.json() == {"ok": True}
    req = inbox.requests.get()
    assert req.method == "POST"
    assert req.query == "source=ci"
    assert req.header("x-custom") == "yes"
    assert req.content_type == "application/json"
    assert req.size == len(body.encode())
    assert req.signature == InboxRequest.Signature.UNSIGNED
    assert json.loads(req.body_text) == {"event_type": "RUN_STATE", "run": {"name": "r1"}}
    assert "\n  " in req.body_text  # pretty-printed


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_it_accepts_any_method_without_csrf(inbox: Inbox, method: str) -> None:
    client = Client(enforce_csrf_checks=True)
    resp = getattr(client, method)(inbox.path)

    assert resp.status_code == 200
    assert inbox.requests.get().method == method.upper()


def test_an_unknown_token_is_404_and_records_nothing(inbox: Inbox) -> None:
    resp = Client().post("/inbox/not-a-token/", "{}", content_type="application/json")

    assert resp.status_code == 404
    assert InboxRequest.objects.count() == 0


def test_a_body_over_the_cap_is_413(inbox: Inbox) -> None:
    resp = Client().post(inbox.path, "x" * (MAX_BODY_BYTES + 1), content_type="text/plain")

    assert resp.status_code == 413
    assert inbox.requests.count() == 0


def test_a_body_at_the_cap_is_kept(inbox: Inbox) -> None:
    resp = Client().post(inbox.path, "x" * MAX_BODY_BYTES, content_type="text/plain")

    assert resp.status_code == 200
    assert inbox.requests.get().size == MAX_BODY_BYTES


def test_authorization_and_cookie_values_are_masked(inbox: Inbox) -> None:
    Client().post(
        inbox.path, "{}", content_type="application/json",
        headers={"Authorization": "Bearer tok-very-secret", "Cookie": "session=abc123"},
    )

    req = inbox.requests.get()
    assert req.header("authorization") == "Bearer ••••••"
    assert "abc123" not in req.header("cookie")
    assert "tok-very-secret" not in json.dumps(req.headers)


def test_it_keeps_only_the_newest_requests(inbox: Inbox) -> None:
    client = Client()
    for i in range(KEEP_REQUESTS + 3):
        client.post(inbox.path, json.dumps({"n": i}), content_type="application/json")

    kept = list(inbox.requests.all())
    assert len(kept) == KEEP_REQUESTS
    assert json.loads(bytes(kept[0].body)) == {"n": KEEP_REQUESTS + 2}
    assert json.loads(bytes(kept[-1].body)) == {"n": 3}


def test_a_non_json_body_is_shown_as_text(inbox: Inbox) -> None:
    Client().post(inbox.path, b"caf\xc3\xa9 \xff", content_type="text/plain")

    req = inbox.requests.get()
    assert req.body_text == "café \ufffd"
    assert not req.is_json


@override_settings(BEACON_BASE_URL="http://beacon.test")
def test_a_request_signed_by_an_integration_pointing_here_is_valid(
    inbox: Inbox, team: Team
) -> None:
    hook = webhook_to(team, inbox.url)
    body = json.dumps({"hello": "world"})

    Client().post(
        inbox.path, body, content_type="application/json",
        headers=standard_headers(hook.signing_secret, "msg_1", body),
    )

    req = inbox.requests.get()
    assert req.signature == "valid"
    assert req.signed_by == "deploy-hook"


def test_a_signature_from_another_secret_is_invalid(inbox: Inbox, team: Team) -> None:
    webhook_to(team, inbox.url)
    other = webhook_to(team, "https://example.com/hook", name="elsewhere")
    body = "{}"

    Client().post(
        inbox.path, body, content_type="application/json",
        headers=standard_headers(other.signing_secret, "msg_1", body),
    )

    assert inbox.requests.get().signature == "invalid"


def test_an_altered_body_is_invalid(inbox: Inbox, team: Team) -> None:
    hook = webhook_to(team, inbox.url)

    Client().post(
        inbox.path, '{"amount": 2}', content_type="application/json",
        headers=standard_headers(hook.signing_secret, "msg_1", '{"amount": 1}'),
    )

    assert inbox.requests.get().signature == "invalid"


def test_a_stale_timestamp_is_invalid(inbox: Inbox, team: Team) -> None:
    hook = webhook_to(team, inbox.url)
    body = "{}"
    headers = standard_headers(hook.signing_secret, "msg_1", body, timestamp=1_000_000_000)

    Client().post(inbox.path, body, content_type="application/json", headers=headers)

    assert inbox.requests.get().signature == "invalid"


def test_a_malformed_signature_header_is_invalid_not_an_error(inbox: Inbox, team: Team) -> None:
    webhook_to(team, inbox.url)

    resp = Client().post(
        inbox.path, "{}", content_type="application/json",
        headers={"webhook-id": "m", "webhook-timestamp": "x", "webhook-signature": "garbage"},
    )

    assert resp.status_code == 200
    assert inbox.requests.get().signature == "invalid"


def test_another_teams_integration_does_not_validate(
    inbox: Inbox, other_team: Team
) -> None:
    foreign = webhook_to(other_team, inbox.url)
    body = "{}"

    Client().post(
        inbox.path, body, content_type="application/json",
        headers=standard_headers(foreign.signing_secret, "msg_1", body),
    )

    assert inbox.requests.get().signature == "invalid"


def test_the_url_without_its_trailing_slash_also_receives(inbox: Inbox) -> None:
    resp = Client().post(inbox.path.rstrip("/"), "{}", content_type="application/json")

    assert resp.status_code == 200
    assert inbox.requests.count() == 1


def test_the_teams_secret_values_are_masked_in_what_is_stored(
    inbox: Inbox, team: Team, other_team: Team
) -> None:
    from teams.models import Secret

    Secret.objects.create(team=team, name="DEPLOY_KEY", value='k3y-"quoted"-value')
    Secret.objects.create(team=other_team, name="THEIRS", value="not-ours-1234")
    body = json.dumps({"key": 'k3y-"quoted"-value', "other": "not-ours-1234"})

    resp = Client().post(inbox.path + "?k=k3y-%22quoted%22-value", body,
                         content_type="application/json",
                         headers={"X-Echo": 'k3y-"quoted"-value'})

    assert resp.status_code == 200
    req = inbox.requests.get()
    stored = bytes(req.body).decode() + json.dumps(req.headers) + req.query
    assert "k3y-" not in stored
    assert json.loads(bytes(req.body)) == {"key": "••••••", "other": "not-ours-1234"}
    assert req.header("x-echo") == "••••••"
    assert req.size == len(body.encode())
