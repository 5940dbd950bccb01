"""Registry pages: link a version, add an alias, create a registry."""

from __future__ import annotations

from django.contrib.auth.models import User

from automations.models import Event
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
    assert f"This team has no artifact version “{theirs.pk}”." in response.content.decode()
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


def test_a_member_tags_a_linked_version_and_a_collection_and_removes_the_tags(
    filled: Filled, member: User, viewer: User, client_for: Clients
) -> None:
    client = client_for(member)
    page = client.get("/t/acme/r/model/").content.decode()
    assert "Tag a linked version" in page and "Tag a collection" in page
    collection = filled.linked.collection

    added = client.post("/t/acme/r/model/tags/version/add/",
                        {"vt-linked": filled.linked.pk, "vt-tag": "validated"}, follow=True)
    assert "Tagged classifier:v0 validated." in added.content.decode()
    added = client.post("/t/acme/r/model/tags/collection/add/",
                        {"ct-collection": collection.pk, "ct-tag": "vision"}, follow=True)
    assert "Tagged collection classifier vision." in added.content.decode()
    html = client_for(viewer).get("/t/acme/r/model/").content.decode()
    assert '<span class="tag">validated</span>' in html
    assert '<span class="tag">vision</span>' in html
    assert "Remove tag" not in html and "Unlink" not in html  # viewers read only

    client.post("/t/acme/r/model/tags/version/remove/",
                {"vt-linked": filled.linked.pk, "vt-tag": "validated"})
    client.post("/t/acme/r/model/tags/collection/remove/",
                {"ct-collection": collection.pk, "ct-tag": "vision"})
    filled.linked.refresh_from_db()
    collection.refresh_from_db()
    assert (filled.linked.tags, collection.tags) == ([], [])
    assert [e.type for e in Event.objects.filter(type__endswith="_TAG").order_by("pk")] == [
        "ADD_ARTIFACT_TAG", "ADD_COLLECTION_TAG", "REMOVE_ARTIFACT_TAG", "REMOVE_COLLECTION_TAG",
    ]
    bad = client.post("/t/acme/r/model/tags/collection/add/",
                      {"ct-collection": collection.pk, "ct-tag": "no spaces"})
    assert bad.status_code == 400
    refused = client_for(viewer).post("/t/acme/r/model/tags/version/add/",
                                      {"vt-linked": filled.linked.pk, "vt-tag": "x"})
    assert refused.status_code == 403


def test_a_member_unlinks_a_version_from_the_registry_page(
    filled: Filled, member: User, viewer: User, client_for: Clients
) -> None:
    assert client_for(viewer).post(
        "/t/acme/r/model/unlink/", {"unlink-linked": filled.linked.pk}
    ).status_code == 403
    page = client_for(member).get("/t/acme/r/model/").content.decode()
    assert 'aria-label="Unlink classifier:v0"' in page

    response = client_for(member).post(
        "/t/acme/r/model/unlink/", {"unlink-linked": filled.linked.pk}, follow=True
    )

    assert "Unlinked acme/model/classifier:v0; its number is not reused." in (
        response.content.decode()
    )
    assert not Collection.objects.get(name="classifier").versions.exists()
    assert Event.objects.filter(type="UNLINK_ARTIFACT", author=member).count() == 1
