"""Registries, links and linked-version aliases over the API (API.md, "Registries")."""

from __future__ import annotations

from typing import Any

from automations.models import Event
from projects.models import Artifact, Project
from registries.models import Collection, LinkedVersion
from tests.support.api import assert_error

LINKS = "/teams/acme/registries/model/collections/mnist-clf/links"


def log(api: Any, digest: str, aliases: list[str] | None = None) -> dict[str, Any]:
    response = api.post(
        "/teams/acme/projects/mnist/artifacts",
        json={"name": "my-model", "type": "model", "digest": digest, "aliases": aliases or []},
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_admins_create_registries_and_duplicates_are_409(admin_api: Any, team: Any) -> None:
    response = admin_api.post("/teams/acme/registries", json={"name": "model"})

    assert response.status_code == 201
    assert response.json()["name"] == "model"
    assert team.registries.filter(name="model").exists()
    assert_error(admin_api.post("/teams/acme/registries", json={"name": "model"}), 409, "conflict")
    error = assert_error(admin_api.post("/teams/acme/registries", json={"name": "a b"}), 400,
                         "invalid")
    assert "name" in error["fields"]


def test_members_cannot_create_registries_but_everyone_lists_them(
    member_api: Any, viewer_api: Any, registry: Any
) -> None:
    assert_error(member_api.post("/teams/acme/registries", json={"name": "x"}), 403, "forbidden")

    listing = viewer_api.get("/teams/acme/registries")

    assert [r["name"] for r in listing.json()] == ["model"]


def test_linking_creates_the_collection_and_numbers_versions(
    member_api: Any, registry: Any
) -> None:
    log(member_api, "d1")
    log(member_api, "d2", ["best"])

    first = member_api.post(LINKS, json={"artifact": "mnist/my-model:v0"})
    second = member_api.post(
        LINKS, json={"artifact": "mnist/my-model:best", "aliases": ["staging"]}
    )

    assert first.status_code == 201
    body = first.json()
    assert {k: body[k] for k in ("collection", "version", "index", "aliases", "ref", "source")} == {
        "collection": "mnist-clf",
        "version": "v0",
        "index": 0,
        "aliases": [],
        "ref": "acme/model/mnist-clf:v0",
        "source": "acme/mnist/my-model:v0",
    }
    assert second.status_code == 201
    assert (second.json()["version"], second.json()["source"]) == ("v1", "acme/mnist/my-model:v1")
    assert second.json()["aliases"] == ["staging"]
    assert Collection.objects.get().name == "mnist-clf"
    other = member_api.post(
        "/teams/acme/registries/model/collections/other/links",
        json={"artifact": "acme/mnist/my-model:v1"},
    )
    assert other.json()["version"] == "v0"  # numbering is per collection


def test_link_errors(member_api: Any, viewer_api: Any, registry: Any) -> None:
    log(member_api, "d1")

    for text in ["my-model:v0", "mnist/my-model", "mnist/my model:v0", "a/b/c/d:v0", ""]:
        error = assert_error(member_api.post(LINKS, json={"artifact": text}), 400, "invalid")
        assert list(error["fields"]) == ["artifact"], text
    for text in ["mnist/my-model:v5", "mnist/my-model:prod", "mnist/nope:v0", "nope/my-model:v0"]:
        assert_error(member_api.post(LINKS, json={"artifact": text}), 404, "not_found")
    bad_alias = member_api.post(LINKS, json={"artifact": "mnist/my-model:v0", "aliases": ["v1"]})
    assert "aliases.0" in assert_error(bad_alias, 400, "invalid")["fields"]
    assert_error(
        member_api.post("/teams/acme/registries/nope/collections/c/links",
                        json={"artifact": "mnist/my-model:v0"}),
        404,
        "not_found",
    )
    assert_error(viewer_api.post(LINKS, json={"artifact": "mnist/my-model:v0"}), 403,
                 "forbidden")
    assert not LinkedVersion.objects.exists()
    assert not Collection.objects.exists()


def test_another_teams_artifact_cannot_be_linked(
    member_api: Any, registry: Any, other_team: Any
) -> None:
    foreign = Project.objects.create(team=other_team, name="mnist")
    Artifact.log_version(foreign, name="secret-model", type="model", digest="x", author=None)

    for text in ["mnist/secret-model:v0", "globex/mnist/secret-model:v0"]:
        assert_error(member_api.post(LINKS, json={"artifact": text}), 404, "not_found")
    assert not LinkedVersion.objects.exists()


def test_linked_aliases_move_within_the_collection(member_api: Any, registry: Any) -> None:
    log(member_api, "d1")
    log(member_api, "d2")
    member_api.post(LINKS, json={"artifact": "mnist/my-model:v0", "aliases": ["production"]})
    member_api.post(LINKS, json={"artifact": "mnist/my-model:v1"})
    versions = "/teams/acme/registries/model/collections/mnist-clf/versions"

    response = member_api.post(f"{versions}/v1/aliases", json={"alias": "production"})

    assert response.status_code == 200
    assert response.json()["version"] == "v1"
    assert response.json()["aliases"] == ["production"]
    by_alias = member_api.post(f"{versions}/production/aliases", json={"alias": "staging"})
    assert by_alias.json()["version"] == "v1"
    collection = member_api.get("/teams/acme/registries/model/collections/mnist-clf").json()
    assert {v["version"]: v["aliases"] for v in collection["versions"]} == {
        "v1": ["production", "staging"],
        "v0": [],
    }
    assert Event.objects.filter(type="ADD_ARTIFACT_ALIAS", registry=registry).count() == 3
    assert_error(member_api.post(f"{versions}/v9/aliases", json={"alias": "x"}), 404,
                 "not_found")
    assert_error(member_api.post(f"{versions}/nope/aliases", json={"alias": "x"}), 404,
                 "not_found")
    assert_error(member_api.post(f"{versions}/v0/aliases", json={"alias": "v0"}), 400, "invalid")
    assert_error(
        member_api.post("/teams/acme/registries/model/collections/none/versions/v0/aliases",
                        json={"alias": "x"}),
        404,
        "not_found",
    )


def test_a_registry_shows_its_collections(member_api: Any, viewer_api: Any, registry: Any) -> None:
    log(member_api, "d1")
    member_api.post(LINKS, json={"artifact": "mnist/my-model:v0", "aliases": ["production"]})

    body = viewer_api.get("/teams/acme/registries/model").json()

    assert body["name"] == "model"
    assert [(c["name"], c["latest"], c["aliases"]) for c in body["collections"]] == [
        ("mnist-clf", "v0", {"production": "v0"})
    ]
    assert_error(viewer_api.get("/teams/acme/registries/nope"), 404, "not_found")
