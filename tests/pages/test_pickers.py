"""Pages that stay fast (issue 11): the forms that pick a version, a linked version or a
collection suggest the newest few in a <datalist> and take what is typed, so the
artifact and registry pages cost the same queries and bytes at 60 versions as at 3
(or 600), and what is typed is looked up exactly: a form error when it does not exist."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from automations.models import Event
from projects.models import Artifact, ArtifactAlias, ArtifactVersion, Project
from registries.models import Collection, LinkedAlias, LinkedVersion, Registry
from teams.widgets import SUGGESTED
from tests.pages.conftest import Filled
from tests.support.web import Clients

ARTIFACT_PAGE = "/t/acme/p/mnist/artifacts/mnist-cnn/"
REGISTRY_PAGE = "/t/acme/r/model/"
DATALIST = re.compile(r'<datalist id="([^"]+)">(.*?)</datalist>', re.S)


def datalists(html: str) -> dict[str, int]:
    """How many options each datalist of the page offers, by id."""
    return {list_id: body.count("<option") for list_id, body in DATALIST.findall(html)}


def shape(html: str) -> int:
    """The page's size with every number written as one digit (and the CSRF token as
    one word): pages of 60 and 600 versions differ in their numbers (v59, v599), not
    in what they list."""
    return len(re.sub(r"[0-9]+", "0", re.sub(r"[A-Za-z0-9]{32,}", "token", html)))


def measure(client: Client, url: str) -> tuple[int, str]:
    """Queries and HTML of a GET of ``url`` (after a warming one)."""
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries), response.content.decode()


def grow(artifact: Artifact, registry: Registry, n: int) -> None:
    """``artifact`` gets ``n`` versions (the newest aliased ``latest``), all linked into
    the collection ``classifier``, and the registry ``n`` more collections. Written
    in bulk: the pages read rows, whatever made them."""
    versions = ArtifactVersion.objects.bulk_create(
        ArtifactVersion(artifact=artifact, index=i, digest=f"d{i}") for i in range(n)
    )
    ArtifactAlias.objects.create(artifact=artifact, version=versions[-1], alias="latest")
    classifier = Collection.objects.create(registry=registry, name="classifier", next_index=n)
    links = LinkedVersion.objects.bulk_create(
        LinkedVersion(collection=classifier, index=i, source=v) for i, v in enumerate(versions)
    )
    LinkedAlias.objects.create(collection=classifier, version=links[-1], alias="production")
    Collection.objects.bulk_create(
        Collection(registry=registry, name=f"col-{i:04d}") for i in range(n)
    )


@pytest.fixture
def pages_at(
    team: Any, admin: User, member: User, client_for: Clients
) -> Callable[[int], dict[str, tuple[int, str]]]:
    """Queries and HTML of the artifact and registry pages, as a member sees them (with
    every form), for an artifact and a collection of ``n`` versions (each ``n`` in a
    project and registry of its own, measured under the same names)."""

    def at(n: int) -> dict[str, tuple[int, str]]:
        LinkedVersion.objects.all().delete()  # links protect their sources
        Registry.objects.filter(team=team).delete()
        Project.objects.filter(team=team).delete()
        project = Project.objects.create(team=team, name="mnist")
        artifact = Artifact.objects.create(project=project, name="mnist-cnn", type="model")
        registry = Registry.objects.create(team=team, name="model")
        grow(artifact, registry, n)
        client = client_for(member)
        return {url: measure(client, url) for url in (ARTIFACT_PAGE, REGISTRY_PAGE)}

    return at


def test_pages_cost_the_same_queries_at_3_60_and_600_versions(
    pages_at: Callable[[int], dict[str, tuple[int, str]]],
) -> None:
    few, many, most = pages_at(3), pages_at(60), pages_at(600)
    for url in (ARTIFACT_PAGE, REGISTRY_PAGE):
        assert few[url][0] == many[url][0] == most[url][0], url


def test_pickers_suggest_at_most_the_newest_20(
    pages_at: Callable[[int], dict[str, tuple[int, str]]],
) -> None:
    few, many = pages_at(3), pages_at(60)

    assert datalists(few[ARTIFACT_PAGE][1]) == {
        "id_version-suggestions": 3, "id_tag-version-suggestions": 3,
    }
    assert datalists(many[ARTIFACT_PAGE][1]) == {
        "id_version-suggestions": SUGGESTED, "id_tag-version-suggestions": SUGGESTED,
    }
    assert datalists(few[REGISTRY_PAGE][1]) == {
        "id_source-suggestions": 3, "id_linked-suggestions": 3,
        "id_vt-linked-suggestions": 3, "id_ct-collection-suggestions": 4,
    }
    assert datalists(many[REGISTRY_PAGE][1]) == {
        "id_source-suggestions": SUGGESTED, "id_linked-suggestions": SUGGESTED,
        "id_vt-linked-suggestions": SUGGESTED, "id_ct-collection-suggestions": SUGGESTED,
    }
    for url in (ARTIFACT_PAGE, REGISTRY_PAGE):  # no other list of options on the pages
        html = many[url][1]
        assert html.count("<option") == sum(datalists(html).values()), url
        assert "<select" not in html, url


def test_pages_stay_the_same_size_from_60_to_600_versions(
    pages_at: Callable[[int], dict[str, tuple[int, str]]],
) -> None:
    many, most = pages_at(60), pages_at(600)
    for url in (ARTIFACT_PAGE, REGISTRY_PAGE):
        assert shape(many[url][1]) == shape(most[url][1]), url


def test_suggestions_are_the_newest_labelled_with_their_aliases(
    pages_at: Callable[[int], dict[str, tuple[int, str]]],
) -> None:
    pages = pages_at(60)
    artifact, registry = pages[ARTIFACT_PAGE][1], pages[REGISTRY_PAGE][1]

    assert '<option value="v59">v59 · latest</option><option value="v58"></option>' in artifact
    assert 'value="v40"' in artifact and 'value="v39"' not in artifact
    assert 'list="id_version-suggestions"' in artifact
    assert 'placeholder="e.g. v59"' in artifact
    assert '<option value="mnist/mnist-cnn:v59">mnist/mnist-cnn:v59 · latest</option>' in registry
    assert '<option value="classifier:v59">classifier:v59 · production</option>' in registry
    assert '<option value="col-0059"></option>' in registry
    assert 'placeholder="e.g. mnist/mnist-cnn:v59"' in registry


# --- what is typed is looked up exactly -------------------------------------------------


def post(client: Client, url: str, data: dict[str, Any]) -> tuple[int, str]:
    response = client.post(url, data, follow=True)
    return response.status_code, response.content.decode()


def test_the_version_of_an_alias_is_typed_or_picked(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    url = ARTIFACT_PAGE + "aliases/"

    assert post(client, url, {"version": "v1", "alias": "best"})[0] == 200
    assert post(client, url, {"version": " latest ", "alias": "first"})[0] == 200  # an alias
    assert post(client, url, {"version": "1", "alias": "legacy"})[0] == 200  # the old select
    aliases = ArtifactAlias.objects.filter(artifact=filled.artifact)
    assert {a.alias: a.version.version for a in aliases} == {
        "best": "v1", "first": "v0", "latest": "v0", "legacy": "v1",
    }

    for typed in ("v7", "v00", "nope", "mnist-cnn:v1", "<b>v1</b>", "v" + "9" * 30):
        status, html = post(client, url, {"version": typed, "alias": "prod"})
        assert status == 400, typed
        assert "mnist-cnn has no version or alias “" in html
        assert "(the newest is v1)." in html
    assert not ArtifactAlias.objects.filter(alias="prod").exists()
    status, html = post(client, url, {"version": "v7", "alias": "prod"})
    assert 'value="v7"' in html  # what was typed stays in the field
    assert post(client, url, {"version": "", "alias": "prod"})[0] == 400


def test_the_version_of_a_tag_is_typed(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    status, html = post(client, ARTIFACT_PAGE + "tags/add/",
                        {"tag-version": "v1", "tag-tag": "validated"})
    assert "Tagged v1 validated." in html
    status, html = post(client, ARTIFACT_PAGE + "tags/add/",
                        {"tag-version": "v2", "tag-tag": "validated"})
    assert status == 400 and "mnist-cnn has no version or alias “v2”" in html
    # The page's own remove buttons post the version's name.
    page = client.get(ARTIFACT_PAGE).content.decode()
    assert '<input type="hidden" name="tag-version" value="v1">' in page
    post(client, ARTIFACT_PAGE + "tags/remove/", {"tag-version": "v1", "tag-tag": "validated"})
    filled.v1.refresh_from_db()
    assert filled.v1.tags == []


@pytest.mark.parametrize(
    "typed",
    ["mnist/mnist-cnn:v1", "acme/mnist/mnist-cnn:v1", "mnist/mnist-cnn:latest"],
)
def test_a_version_is_linked_by_its_reference(
    filled: Filled, member: User, client_for: Clients, typed: str
) -> None:
    status, html = post(client_for(member), REGISTRY_PAGE + "links/",
                        {"source": typed, "collection": "detector"})
    assert status == 200
    linked = Collection.objects.get(name="detector").versions.get()
    expected = filled.v0 if typed.endswith("latest") else filled.v1
    assert linked.source == expected
    assert f"Linked {expected.ref} as acme/model/detector:v0." in html


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("mnist/mnist-cnn:v9", "This team has no artifact version “mnist/mnist-cnn:v9”."),
        ("mnist/other:v0", "This team has no artifact version “mnist/other:v0”."),
        ("globex/mnist/mnist-cnn:v0", "This team has no artifact version"),
        ("mnist-cnn", "Use &#x27;{project}/{artifact}:{version or alias}&#x27;"),
        ("a/b/c/d:v0", "Use &#x27;{project}/{artifact}:{version or alias}&#x27;"),
        ("99999999999999999999999", "Use &#x27;{project}"),
    ],
)
def test_linking_what_does_not_exist_is_a_form_error(
    filled: Filled, member: User, client_for: Clients, typed: str, says: str
) -> None:
    status, html = post(client_for(member), REGISTRY_PAGE + "links/",
                        {"source": typed, "collection": "detector"})
    assert status == 400
    assert says in html
    assert not Collection.objects.filter(name="detector").exists()


def test_a_linked_version_gets_an_alias_and_a_tag_by_its_reference(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    second = filled.registry.link("classifier", filled.v1, aliases=[], author=member)

    _, html = post(client, REGISTRY_PAGE + "aliases/", {"linked": "classifier:v1", "alias": "a"})
    assert "a now points at classifier:v1." in html
    post(client, REGISTRY_PAGE + "aliases/", {"linked": "classifier:staging", "alias": "b"})
    post(client, REGISTRY_PAGE + "aliases/",
         {"linked": "acme/model/classifier:v1", "alias": "c"})
    assert {a.alias: a.version for a in LinkedAlias.objects.all()} == {
        "a": second, "b": filled.linked, "c": second, "staging": filled.linked,
    }
    _, html = post(client, REGISTRY_PAGE + "tags/version/add/",
                   {"vt-linked": "classifier:v1", "vt-tag": "validated"})
    assert "Tagged classifier:v1 validated." in html
    second.refresh_from_db()
    assert second.tags == ["validated"]


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("classifier:v5", "Registry model has no linked version “classifier:v5”."),
        ("classifier:nope", "Registry model has no linked version “classifier:nope”."),
        ("detector:v0", "Registry model has no linked version “detector:v0”."),
        ("acme/dataset/classifier:v0", "Registry model has no linked version"),
        ("classifier", "Use &#x27;{collection}:{version or alias}&#x27;"),
        ("v0", "Use &#x27;{collection}:{version or alias}&#x27;"),
    ],
)
def test_an_unknown_linked_version_is_a_form_error(
    filled: Filled, member: User, client_for: Clients, typed: str, says: str
) -> None:
    client = client_for(member)
    for url, data in (
        ("aliases/", {"linked": typed, "alias": "prod"}),
        ("tags/version/add/", {"vt-linked": typed, "vt-tag": "validated"}),
    ):
        status, html = post(client, REGISTRY_PAGE + url, data)
        assert status == 400, url
        assert says in html, url
    assert not LinkedAlias.objects.filter(alias="prod").exists()
    filled.linked.refresh_from_db()
    assert filled.linked.tags == []


def test_a_collection_is_tagged_by_its_name(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    # A collection may be named like a number; the name wins over the old id.
    numbered = filled.registry.link(str(filled.linked.collection.pk), filled.v1, aliases=[],
                                    author=member).collection

    _, html = post(client, REGISTRY_PAGE + "tags/collection/add/",
                   {"ct-collection": "classifier", "ct-tag": "vision"})
    assert "Tagged collection classifier vision." in html
    post(client, REGISTRY_PAGE + "tags/collection/add/",
         {"ct-collection": numbered.name, "ct-tag": "numbered"})
    numbered.refresh_from_db()
    assert numbered.tags == ["numbered"]
    status, html = post(client, REGISTRY_PAGE + "tags/collection/add/",
                        {"ct-collection": "detector", "ct-tag": "vision"})
    assert status == 400
    assert "Registry model has no collection “detector”." in html
    assert 'value="detector"' in html  # what was typed stays in the field
    assert Event.objects.filter(type="ADD_COLLECTION_TAG").count() == 2


def test_the_pages_own_buttons_post_references(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    filled.linked.add_tag("validated", member)
    filled.linked.collection.add_tag("vision", member)
    page = client.get(REGISTRY_PAGE).content.decode()
    assert '<input type="hidden" name="vt-linked" value="classifier:v0">' in page
    assert '<input type="hidden" name="unlink-linked" value="classifier:v0">' in page
    assert '<input type="hidden" name="ct-collection" value="classifier">' in page

    _, html = post(client, REGISTRY_PAGE + "unlink/", {"unlink-linked": "classifier:v0"})
    assert "Unlinked acme/model/classifier:v0; its number is not reused." in html
    _, html = post(client, REGISTRY_PAGE + "unlink/", {"unlink-linked": "classifier:v0"})
    assert "That version is no longer linked." in html
