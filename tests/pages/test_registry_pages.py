"""Registry pages: link a version, add an alias, create a registry."""

from __future__ import annotations

from django.contrib.auth.models import User

from registries.models import Collection, LinkedAlias, Registry
from tests.pages.conftest import Filled
from tests.support.web import Clients


def test_registry_page_shows_collections_versions_sources_and_aliases(
    filled: Filled, viewer: User, client_for: Clients
) -> None:
    html = client_for(viewer).get("/t/acme/r/model/").content.decode()
    assert "classifier" in html
    assert "acme/mnist/mnist-cnn:v0" in html
    assert '<span class="alias">staging</span>' in html
    assert "/t/acme/r/model/automations/" in html and "/t/acme/r/model/history/" in html
    assert "Link a version" not in html  # viewers read only


def test_a_member_links_a_version_into_a_new_collection_with_aliases(
    filled: Filled, member: User, client_for: Clients
) -> None:
    response = client_for(member).post(
        "/t/acme/r/model/links/",
        {"source": filled.v1.pk, "collection": "detector", "aliases": "candidate, best"},
        follow=True,
    )
    assert response.status_code == 200
    linked = Collection.objects.get(registry=filled.registry, name="detector").versions.get()
    assert (linked.version, linked.source) == ("v0", filled.v1)
    assert linked.alias_names() == ["best", "candidate"]
    assert "acme/model/detector:v0" in response.content.decode()


def test_linking_again_numbers_the_next_version(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client_for(member).post(
        "/t/acme/r/model/links/", {"source": filled.v1.pk, "collection": "classifier"}
    )
    assert Collection.objects.get(name="classifier").versions.first().version == "v1"


def test_a_version_of_another_team_cannot_be_linked(
    filled: Filled, member: User, other_team: object, client_for: Clients
) -> None:
    from projects.models import Artifact, Project

    theirs, _ = Artifact.log_version(
        Project.objects.create(team=other_team, name="x"),  # type: ignore[misc]
        name="m", type="model", digest="z", author=None,
    )
    response = client_for(member).post(
        "/t/acme/r/model/links/", {"source": theirs.pk, "collection": "stolen"}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Collection.objects.filter(name="stolen").exists()


def test_bad_link_input_is_an_inline_error(
    filled: Filled, member: User, client_for: Clients
) -> None:
    response = client_for(member).post(
        "/t/acme/r/model/links/",
        {"source": filled.v0.pk, "collection": "-bad name", "aliases": "v3"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "letters, digits" in html and "looks like a version" in html


def test_a_member_moves_a_registry_alias(
    filled: Filled, member: User, client_for: Clients
) -> None:
    second = filled.registry.link("classifier", filled.v1, aliases=[], author=member)
    client_for(member).post("/t/acme/r/model/aliases/", {"linked": second.pk, "alias": "staging"})
    assert LinkedAlias.objects.get(alias="staging").version == second


def test_a_linked_version_of_another_registry_cannot_get_an_alias(
    filled: Filled, member: User, client_for: Clients
) -> None:
    other = Registry.objects.create(team=filled.team, name="dataset")
    elsewhere = other.link("data", filled.v0, aliases=[], author=member)
    response = client_for(member).post(
        "/t/acme/r/model/aliases/", {"linked": elsewhere.pk, "alias": "prod"}
    )
    assert response.status_code == 400
    assert not LinkedAlias.objects.filter(alias="prod").exists()


def test_viewers_cannot_link_or_alias(filled: Filled, viewer: User, client_for: Clients) -> None:
    client = client_for(viewer)
    link = client.post("/t/acme/r/model/links/", {"source": filled.v1.pk, "collection": "c"})
    alias = client.post("/t/acme/r/model/aliases/", {"linked": filled.linked.pk, "alias": "p"})
    assert (link.status_code, alias.status_code) == (403, 403)
    assert not Collection.objects.filter(name="c").exists()


def test_an_admin_creates_a_registry_from_the_team_home(
    filled: Filled, admin: User, client_for: Clients
) -> None:
    client = client_for(admin)
    assert 'action="/t/acme/registries/new/"' in client.get("/t/acme/").content.decode()
    response = client.post("/t/acme/registries/new/", {"name": "dataset"})
    assert response.status_code == 302
    assert response.url == "/t/acme/r/dataset/"
    assert Registry.objects.filter(team=filled.team, name="dataset").exists()
    duplicate = client.post("/t/acme/registries/new/", {"name": "dataset"})
    assert duplicate.status_code == 400
    assert "exists already" in duplicate.content.decode()


def test_members_cannot_create_registries(
    filled: Filled, member: User, client_for: Clients
) -> None:
    assert client_for(member).post("/t/acme/registries/new/", {"name": "x"}).status_code == 403
    assert not Registry.objects.filter(name="x").exists()
