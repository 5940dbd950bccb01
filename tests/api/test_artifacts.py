"""Artifacts over the API (API.md, "Artifacts")."""

from __future__ import annotations

from typing import Any

from automations.models import Event
from projects.models import ArtifactVersion
from tests.support.api import assert_error

ARTIFACTS = "/teams/acme/projects/mnist/artifacts"


def log(api: Any, digest: str, **body: Any) -> Any:
    return api.post(ARTIFACTS, json={"name": "my-model", "type": "model", "digest": digest, **body})


def test_logging_a_version_answers_201_with_the_contract_fields(
    member_api: Any, team: Any
) -> None:
    response = log(member_api, "sha256:aaa", metadata={"acc": 0.9}, aliases=["latest"])

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "type", "version", "index", "aliases", "ref")} == {
        "name": "my-model",
        "type": "model",
        "version": "v0",
        "index": 0,
        "aliases": ["latest"],
        "ref": "acme/mnist/my-model:v0",
    }
    assert body["id"] == str(ArtifactVersion.objects.get().pk)
    assert body["metadata"] == {"acc": 0.9}
    assert team.projects.filter(name="mnist").exists()  # created on first use


def test_same_digest_as_the_newest_is_200_without_a_new_version_or_event(
    member_api: Any,
) -> None:
    first = log(member_api, "d1").json()
    events = Event.objects.count()

    again = log(member_api, "d1")

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["version"] == "v0"
    assert ArtifactVersion.objects.count() == 1
    assert Event.objects.count() == events


def test_new_digests_number_versions_and_move_aliases(member_api: Any) -> None:
    log(member_api, "d1", aliases=["latest"])
    second = log(member_api, "d2", aliases=["latest"]).json()
    third = log(member_api, "d1").json()  # an older digest is a new version

    assert (second["version"], third["version"]) == ("v1", "v2")
    artifact = member_api.get(f"{ARTIFACTS}/my-model").json()
    versions = {v["version"]: v["aliases"] for v in artifact["versions"]}
    assert versions == {"v2": [], "v1": ["latest"], "v0": []}
    assert artifact["aliases"] == {"latest": "v1"}


def test_a_type_mismatch_is_409(member_api: Any) -> None:
    log(member_api, "d1")

    response = member_api.post(
        ARTIFACTS, json={"name": "my-model", "type": "dataset", "digest": "d2"}
    )

    assert_error(response, 409, "conflict")
    assert ArtifactVersion.objects.count() == 1


def test_bad_artifact_bodies_are_400_with_fields(member_api: Any, project: Any) -> None:
    for body, field in [
        ({"name": "bad name", "type": "model", "digest": "d"}, "name"),
        ({"name": "m", "type": "", "digest": "d"}, "type"),
        ({"name": "m", "type": "model", "digest": " "}, "digest"),
        ({"name": "m", "type": "model", "digest": "d", "aliases": ["v3"]}, "aliases.0"),
        ({"name": "m", "type": "model", "digest": "d", "aliases": ["ok", "no way"]}, "aliases.1"),
        ({"name": "m", "type": "model", "digest": "d", "metadata": [1]}, "metadata"),
    ]:
        error = assert_error(member_api.post(ARTIFACTS, json=body), 400, "invalid")
        assert field in error["fields"], (body, error)
    assert not ArtifactVersion.objects.exists()


def test_an_alias_can_be_added_by_version_or_by_alias_and_moves(member_api: Any) -> None:
    log(member_api, "d1", aliases=["latest"])
    log(member_api, "d2")

    by_version = member_api.post(
        f"{ARTIFACTS}/my-model/versions/v1/aliases", json={"alias": "production"}
    )
    assert by_version.status_code == 200
    assert by_version.json()["version"] == "v1"
    assert by_version.json()["aliases"] == ["production"]

    by_alias = member_api.post(
        f"{ARTIFACTS}/my-model/versions/latest/aliases", json={"alias": "production"}
    )
    assert by_alias.status_code == 200
    assert by_alias.json()["version"] == "v0"
    assert by_alias.json()["aliases"] == ["latest", "production"]
    v1 = member_api.get(f"{ARTIFACTS}/my-model/versions/v1").json()
    assert v1["aliases"] == []
    moved = Event.objects.filter(type="ADD_ARTIFACT_ALIAS", data__alias="production")
    assert moved.count() == 2


def test_alias_endpoint_errors(member_api: Any, viewer_api: Any) -> None:
    log(member_api, "d1")
    path = f"{ARTIFACTS}/my-model/versions"

    assert_error(member_api.post(f"{path}/v7/aliases", json={"alias": "x"}), 404, "not_found")
    assert_error(member_api.post(f"{path}/nope/aliases", json={"alias": "x"}), 404, "not_found")
    assert_error(
        member_api.post(f"{ARTIFACTS}/other/versions/v0/aliases", json={"alias": "x"}),
        404,
        "not_found",
    )
    error = assert_error(member_api.post(f"{path}/v0/aliases", json={"alias": "v9"}), 400,
                         "invalid")
    assert "alias" in error["fields"]
    assert_error(member_api.post(f"{path}/v0/aliases", json={"alias": ""}), 400, "invalid")
    assert_error(viewer_api.post(f"{path}/v0/aliases", json={"alias": "x"}), 403, "forbidden")


def test_artifacts_are_listed_and_read_by_viewers(member_api: Any, viewer_api: Any) -> None:
    log(member_api, "d1", aliases=["latest"])
    member_api.post(ARTIFACTS, json={"name": "data", "type": "dataset", "digest": "x"})

    listing = viewer_api.get(ARTIFACTS).json()
    one = viewer_api.get(f"{ARTIFACTS}/my-model").json()
    version = viewer_api.get(f"{ARTIFACTS}/my-model/versions/latest").json()

    assert [(a["name"], a["type"], a["latest"]) for a in listing] == [
        ("data", "dataset", "v0"),
        ("my-model", "model", "v0"),
    ]
    assert [v["ref"] for v in one["versions"]] == ["acme/mnist/my-model:v0"]
    assert version["version"] == "v0"
    assert_error(viewer_api.get(f"{ARTIFACTS}/nope"), 404, "not_found")
