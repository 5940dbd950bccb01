"""The account page: API keys are shown once at creation and can be revoked."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.test import Client

from teams.models import ApiKey
from tests.support.web import Clients


def test_a_new_key_is_shown_once_and_works(member: User, client_for: Clients) -> None:
    client = client_for(member)
    response = client.post("/account/", {"name": "CI"})
    assert response.status_code == 200
    match = re.search(r'id="new-api-key">(bk_[^<]+)<', response.content.decode())
    assert match, "the new key is on the page"
    key = match.group(1)
    assert ApiKey.authenticate(key).user == member  # type: ignore[union-attr]
    assert key not in client.get("/account/").content.decode()
    assert ApiKey.objects.get(user=member).name == "CI"
    viewer = Client().get("/api/v1/viewer", headers={"Authorization": f"Bearer {key}"})
    assert viewer.status_code == 200


def test_revoking_a_key_stops_it(member: User, client_for: Clients) -> None:
    obj, key = ApiKey.issue(member, "old")
    client_for(member).post(f"/account/keys/{obj.pk}/revoke/")
    assert ApiKey.authenticate(key) is None
    assert "revoked" in client_for(member).get("/account/").content.decode()


def test_nobody_revokes_someone_elses_key(
    member: User, viewer: User, client_for: Clients
) -> None:
    obj, key = ApiKey.issue(member, "mine")
    assert client_for(viewer).post(f"/account/keys/{obj.pk}/revoke/").status_code == 404
    assert ApiKey.authenticate(key) is not None


def test_the_account_page_lists_only_my_keys(
    member: User, viewer: User, client_for: Clients
) -> None:
    ApiKey.issue(member, "mias-key")
    ApiKey.issue(viewer, "vics-key")
    html = client_for(member).get("/account/").content.decode()
    assert "mias-key" in html and "vics-key" not in html
