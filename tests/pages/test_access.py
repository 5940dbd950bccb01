"""Every page × admin / member / viewer / outsider / anonymous."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.pages.conftest import Filled, admin_pages, read_pages
from tests.support.web import Clients


@pytest.fixture
def people(admin: User, member: User, viewer: User, outsider: User) -> dict[str, User]:
    return {"admin": admin, "member": member, "viewer": viewer, "outsider": outsider}


def test_members_of_every_role_read_every_page(
    filled: Filled, people: dict[str, User], client_for: Clients
) -> None:
    for role in ("admin", "member", "viewer"):
        client = client_for(people[role])
        for url in read_pages(filled):
            response = client.get(url)
            assert response.status_code == 200, (role, url)
            assert "<main" in response.content.decode()


def test_outsiders_get_404_everywhere(
    filled: Filled, outsider: User, client_for: Clients
) -> None:
    client = client_for(outsider)
    for url in read_pages(filled) + admin_pages(filled):
        assert client.get(url).status_code == 404, url


def test_anonymous_visitors_are_sent_to_login(
    filled: Filled, client_for: Clients
) -> None:
    client = client_for(None)
    for url in [*read_pages(filled), *admin_pages(filled), "/", "/account/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith("/login/?next="), url


def test_team_settings_are_for_admins_only(
    filled: Filled, people: dict[str, User], client_for: Clients
) -> None:
    for url in admin_pages(filled):
        assert client_for(people["admin"]).get(url).status_code == 200, url
        assert client_for(people["member"]).get(url).status_code == 403, url
        assert client_for(people["viewer"]).get(url).status_code == 403, url


def test_settings_link_is_shown_to_admins_only(
    filled: Filled, admin: User, member: User, client_for: Clients
) -> None:
    home = f"/t/{filled.team.slug}/"
    settings_url = f"/t/{filled.team.slug}/settings/"
    assert settings_url in client_for(admin).get(home).content.decode()
    assert settings_url not in client_for(member).get(home).content.decode()


def test_unknown_objects_answer_404(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    t, p = filled.team.slug, filled.project.name
    for url in [
        "/t/nope/",
        f"/t/{t}/p/nope/",
        f"/t/{t}/p/{p}/runs/nope/",
        f"/t/{t}/p/{p}/artifacts/nope/",
        f"/t/{t}/r/nope/",
        f"/t/{t}/settings/integrations/999999/",
    ]:
        assert client.get(url).status_code == 404, url


def test_another_teams_integration_is_404_for_its_non_admins(
    filled: Filled, outsider: User, client_for: Clients
) -> None:
    # otto is an admin of globex: globex's settings URL with acme's integration id is 404.
    url = f"/t/globex/settings/integrations/{filled.webhook.pk}/"
    assert client_for(outsider).get(url).status_code == 404


def test_home_redirects_to_the_first_team(
    filled: Filled, member: User, client_for: Clients
) -> None:
    response = client_for(member).get("/")
    assert response.status_code == 302
    assert response.url == f"/t/{filled.team.slug}/"


def test_home_without_a_team_is_a_friendly_page(
    make_user: Callable[..., User], client_for: Clients
) -> None:
    response = client_for(make_user("newbie")).get("/")
    assert response.status_code == 200
    assert "not a member of any team" in response.content.decode()


def test_login_page_logs_in_and_logout_logs_out(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(None)
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", {"username": "mia", "password": "pw-mia"})
    assert response.status_code == 302
    assert client.get(f"/t/{filled.team.slug}/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get(f"/t/{filled.team.slug}/").status_code == 302


def test_wrong_password_shows_an_error(db: None, member: User) -> None:
    response = Client().post("/login/", {"username": "mia", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
