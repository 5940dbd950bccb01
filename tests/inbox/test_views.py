"""Inbox pages: admins create, watch, clear and delete; everyone else is refused."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from inbox.models import Inbox
from teams.models import Team
from tests.support.web import Clients


def test_an_admin_creates_an_inbox_and_sees_its_url(
    team: Team, admin: Any, client_for: Clients
) -> None:
    client = client_for(admin)

    resp = client.post("/t/acme/settings/inboxes/", {"name": "Deploy tryout"}, follow=True)

    inbox = Inbox.objects.get(team=team)
    assert inbox.name == "Deploy tryout"
    assert len(inbox.token) >= 32
    assert resp.redirect_chain[-1][0] == inbox.get_absolute_url()
    assert inbox.url.encode() in resp.content
    assert inbox.url == f"http://127.0.0.1:8000/inbox/{inbox.token}/"


def test_a_duplicate_or_blank_name_is_a_form_error(
    inbox: Inbox, admin: Any, client_for: Clients
) -> None:
    client = client_for(admin)

    dup = client.post("/t/acme/settings/inboxes/", {"name": "try-deploy"})
    blank = client.post("/t/acme/settings/inboxes/", {"name": "  "})

    assert dup.status_code == 200
    assert b"already has an inbox with that name" in dup.content
    assert blank.status_code == 200
    assert b"This field is required" in blank.content or b"Give the inbox a name" in blank.content
    assert Inbox.objects.count() == 1


def test_the_list_shows_the_teams_inboxes_only(
    inbox: Inbox, other_team: Team, admin: Any, client_for: Clients
) -> None:
    Inbox.objects.create(team=other_team, name="globex-secret-inbox")

    resp = client_for(admin).get("/t/acme/settings/inboxes/")

    assert resp.status_code == 200
    assert b"try-deploy" in resp.content
    assert b"globex-secret-inbox" not in resp.content


def test_received_requests_appear_newest_first_in_the_polled_partial(
    inbox: Inbox, admin: Any, client_for: Clients
) -> None:
    Client().post(inbox.path, json.dumps({"n": "first"}), content_type="application/json")
    Client().post(
        inbox.path, json.dumps({"n": "second"}), content_type="application/json",
        headers={"Authorization": "Bearer s3cr3t-token"},
    )

    page = client_for(admin).get(inbox.get_absolute_url())
    partial = client_for(admin).get(f"/t/acme/settings/inboxes/{inbox.pk}/requests/")

    assert b'hx-trigger="every 2s"' in page.content
    html = partial.content.decode()
    assert "<html" not in html
    assert html.index("second") < html.index("first")
    assert "&quot;n&quot;: &quot;second&quot;" in html  # pretty-printed JSON, escaped
    assert "s3cr3t-token" not in html
    assert "unsigned" in html


def test_clear_removes_every_request(inbox: Inbox, admin: Any, client_for: Clients) -> None:
    Client().post(inbox.path, "{}", content_type="application/json")

    resp = client_for(admin).post(f"/t/acme/settings/inboxes/{inbox.pk}/clear/")

    assert resp.status_code == 302
    assert inbox.requests.count() == 0


def test_delete_removes_the_inbox_and_its_url_stops_answering(
    inbox: Inbox, admin: Any, client_for: Clients
) -> None:
    path = inbox.path

    resp = client_for(admin).post(f"/t/acme/settings/inboxes/{inbox.pk}/delete/")

    assert resp.status_code == 302
    assert not Inbox.objects.exists()
    assert Client().post(path, "{}", content_type="application/json").status_code == 404


@pytest.mark.parametrize("persona", ["member", "viewer"])
@pytest.mark.parametrize(
    "method,suffix",
    [("get", ""), ("get", "{pk}/"), ("get", "{pk}/requests/"), ("post", "{pk}/clear/"),
     ("post", "{pk}/delete/"), ("post", "")],
)
def test_members_and_viewers_are_forbidden(
    inbox: Inbox, persona: str, method: str, suffix: str, request: Any, client_for: Clients
) -> None:
    user = request.getfixturevalue(persona)
    Client().post(inbox.path, "{}", content_type="application/json")
    url = "/t/acme/settings/inboxes/" + suffix.format(pk=inbox.pk)

    resp = getattr(client_for(user), method)(url, {"name": "x"} if method == "post" else None)

    assert resp.status_code == 403
    assert Inbox.objects.filter(pk=inbox.pk).exists()
    assert inbox.requests.count() == 1
    assert Inbox.objects.count() == 1


def test_an_outsider_gets_404_even_with_the_inbox_id(
    inbox: Inbox, outsider: Any, client_for: Clients
) -> None:
    client = client_for(outsider)

    assert client.get(f"/t/acme/settings/inboxes/{inbox.pk}/").status_code == 404
    assert client.post(f"/t/acme/settings/inboxes/{inbox.pk}/delete/").status_code == 404
    assert Inbox.objects.exists()


def test_an_inbox_of_another_team_is_404_for_an_admin(
    other_team: Team, admin: Any, client_for: Clients
) -> None:
    foreign = Inbox.objects.create(team=other_team, name="theirs")

    resp = client_for(admin).get(f"/t/acme/settings/inboxes/{foreign.pk}/")

    assert resp.status_code == 404


def test_anonymous_users_are_sent_to_log_in(inbox: Inbox) -> None:
    resp = Client().get(inbox.get_absolute_url())

    assert resp.status_code == 302
    assert "/login" in resp["Location"]


def test_polling_answers_204_until_something_arrives_or_is_cleared(
    inbox: Inbox, admin: Any, client_for: Clients
) -> None:
    client = client_for(admin)
    partial = f"/t/acme/settings/inboxes/{inbox.pk}/requests/"
    Client().post(inbox.path, "{}", content_type="application/json")
    first = client.get(partial)
    seen = re.search(r'\?seen=([0-9-]+)"', first.content.decode()).group(1)

    unchanged = client.get(partial, {"seen": seen})
    Client().post(inbox.path, '{"n": 2}', content_type="application/json")
    arrived = client.get(partial, {"seen": seen})
    inbox.clear()
    cleared = client.get(partial, {"seen": seen})

    assert unchanged.status_code == 204
    assert arrived.status_code == 200
    assert "&quot;n&quot;: 2" in arrived.content.decode()
    assert cleared.status_code == 200
    assert "Waiting for requests" in cleared.content.decode()
