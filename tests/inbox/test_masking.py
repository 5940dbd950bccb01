"""Inboxes mask the team's secrets in every encoding — the ``ensure_ascii=False`` JSON that
Beacon itself sends (``SEKRIT\\"q\\\\b/ü``), the ASCII-escaped form, URL-encoded, base64 —
with the same masking as delivery attempts (``automations.masking``)."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import quote

from django.test import Client
from django.urls import reverse

from automations.actions.webhook import WebhookAction, encode_body
from inbox.models import QUERY_LIMIT, Inbox
from teams.models import Integration, Team
from tests.support.factories import make_secret
from tests.support.secret_forms import forms_of, leaks

SECRET = 'SEKRIT"q\\b/ü-inbox-42'


def stored_texts(inbox: Inbox) -> list[str]:
    req = inbox.requests.get()
    return [bytes(req.body).decode("utf-8", "replace"), json.dumps(req.headers),
            json.dumps(req.headers, ensure_ascii=False), req.query, req.body_text]


def test_what_beacon_itself_sends_is_masked(inbox: Inbox, team: Team, admin: Any,
                                            client_for: Any) -> None:
    token = make_secret(team, "TOKEN", SECRET)
    hook = Integration.objects.create(team=team, kind="webhook", name="to-inbox",
                                      url=inbox.url, access_token_secret=token)
    payload = {"token": SECRET, "nested": json.dumps({"again": SECRET}), "n": 1}
    body = encode_body(payload)
    assert 'SEKRIT\\"q\\\\b/ü' in body  # Beacon's own (mixed) escaping
    headers = WebhookAction(hook).headers(body, "msg_1")
    assert headers["Authorization"] == f"Bearer {SECRET}"

    resp = Client().post(inbox.path, body.encode(), content_type="application/json",
                         headers={k: v for k, v in headers.items() if k != "Content-Type"})

    assert resp.status_code == 200
    req = inbox.requests.get()
    assert req.signature == "valid"  # checked on what was received, before masking
    for text in stored_texts(inbox):
        assert not leaks(text, SECRET), (leaks(text, SECRET), text)
    shown = json.loads(bytes(req.body))
    assert shown["token"] == "••••••" and shown["n"] == 1
    assert json.loads(shown["nested"]) == {"again": "••••••"}
    page = client_for(admin).get(inbox.get_absolute_url()).content.decode()
    assert not leaks(html.unescape(page), SECRET)


def test_every_encoding_is_masked_in_body_headers_and_query(inbox: Inbox, team: Team) -> None:
    make_secret(team, "TOKEN", SECRET)
    forms = forms_of(SECRET)
    body = json.dumps(forms, ensure_ascii=False).encode()
    query = "a=" + quote(SECRET, safe="") + "&b=" + forms["base64 urlsafe"]

    Client().post(f"{inbox.path}?{query}", body, content_type="application/json",
                  headers={"X-Echo": forms["json ascii"], "X-B64": forms["base64 of Bearer"]})

    for text in stored_texts(inbox):
        assert not leaks(text, SECRET), (leaks(text, SECRET), text)


def test_a_secret_across_the_query_cut_leaves_no_beginning(inbox: Inbox, team: Team) -> None:
    make_secret(team, "TOKEN", SECRET)
    query = "p=" + "x" * (QUERY_LIMIT - 10) + quote(SECRET, safe="")
    Client().get(f"{inbox.path}?{query}")
    stored = inbox.requests.get().query
    assert len(stored) <= QUERY_LIMIT
    assert not leaks(stored, SECRET)
    assert "SEKRIT" not in stored


def test_a_body_that_is_not_utf8_keeps_its_bytes(inbox: Inbox, team: Team) -> None:
    make_secret(team, "TOKEN", SECRET)
    body = b"\xff\xfe raw " + SECRET.encode() + b" \x80 end"
    Client().post(inbox.path, body, content_type="application/octet-stream")
    assert bytes(inbox.requests.get().body) == b"\xff\xfe raw " + "••••••".encode() + b" \x80 end"


def test_rows_stored_before_a_secret_existed_are_shown_masked(
    inbox: Inbox, team: Team, admin: Any, client_for: Any
) -> None:
    body = json.dumps({"token": SECRET}, ensure_ascii=False).encode()
    Client().post(f"{inbox.path}?t={quote(SECRET, safe='')}", body,
                  content_type="application/json", headers={"X-Echo": json.dumps(SECRET)})
    escaped = json.dumps(SECRET, ensure_ascii=False)[1:-1].encode()
    assert escaped in bytes(inbox.requests.get().body)  # not a secret yet: kept
    make_secret(team, "TOKEN", SECRET)

    page = client_for(admin).get(inbox.get_absolute_url()).content.decode()
    polled = client_for(admin).get(
        reverse("inbox_requests", args=["acme", inbox.pk])).content.decode()
    for text in (page, polled):
        assert not leaks(html.unescape(text), SECRET)
        assert "••••••" in text
    assert escaped in bytes(inbox.requests.get().body)  # the row is unchanged
