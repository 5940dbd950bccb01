"""Tags of artifact versions, linked versions and collections, and unlinking, over the
API (API.md, "Tags" and "Registries")."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Event
from registries.models import LinkedVersion
from tests.support.api import assert_error

ARTIFACTS = "/teams/acme/projects/mnist/artifacts"
VERSION = ARTIFACTS + "/my-model/versions/v0"
COLLECTION = "/teams/acme/registries/model/collections/clf"
LINKED = COLLECTION + "/versions/v0"


@pytest.fixture
def linked(member_api: Any, registry: Any) -> dict[str, Any]:
    created = member_api.post(ARTIFACTS, json={"name": "my-model", "type": "model", "digest": "a"})
    assert created.status_code == 201, created.content
    response = member_api.post(COLLECTION + "/links", json={"artifact": "mnist/my-model:v0"})
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize(
    ("base", "added", "removed"),
    [
        (VERSION, "ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG"),
        (LINKED, "ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG"),
        (COLLECTION, "ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG"),
    ],
)
def test_tags_are_added_and_removed_once(
    member_api: Any, viewer_api: Any, linked: Any, base: str, added: str, removed: str
) -> None:
    first = member_api.post(base + "/tags", json={"tag": "validated"})
    again = member_api.post(base + "/tags", json={"tag": "validated"})

    assert first.status_code == again.status_code == 200
    assert first.json()["tags"] == ["validated"]
    assert Event.objects.filter(type=added).count() == 1  # the second add changed nothing
    if base == LINKED:
        shown = viewer_api.get(COLLECTION).json()["versions"][0]
    else:
        shown = viewer_api.get(base).json()
    assert shown["tags"] == ["validated"]

    assert member_api.delete(base + "/tags/validated").status_code == 204
    assert member_api.delete(base + "/tags/validated").status_code == 204
    assert member_api.delete(base + "/tags/never-there").status_code == 204
    assert Event.objects.filter(type=removed).count() == 1


@pytest.mark.parametrize("base", [VERSION, LINKED, COLLECTION])
def test_bad_tags_are_400_and_viewers_403(
    member_api: Any, viewer_api: Any, linked: Any, base: str
) -> None:
    for bad in ("", "no spaces", "-lead", "x" * 129, 7):
        error = assert_error(member_api.post(base + "/tags", json={"tag": bad}), 400, "invalid")
        assert "tag" in str(error["fields"])
    assert_error(member_api.delete(base + "/tags/bad%20tag"), 400, "invalid")
    assert_error(viewer_api.post(base + "/tags", json={"tag": "ok"}), 403, "forbidden")
    assert_error(viewer_api.delete(base + "/tags/ok"), 403, "forbidden")
    assert not Event.objects.filter(type__contains="_TAG").exists()


def test_unknown_targets_are_404(member_api: Any, linked: Any) -> None:
    assert_error(member_api.post(ARTIFACTS + "/my-model/versions/v9/tags", json={"tag": "a"}),
                 404, "not_found")
    assert_error(member_api.post(COLLECTION + "/versions/v9/tags", json={"tag": "a"}),
                 404, "not_found")
    assert_error(member_api.post("/teams/acme/registries/model/collections/nope/tags",
                                 json={"tag": "a"}), 404, "not_found")
    assert_error(member_api.delete(COLLECTION + "/versions/v9"), 404, "not_found")


def test_unlinking_is_204_emits_once_and_never_reuses_the_number(
    member_api: Any, viewer_api: Any, linked: Any
) -> None:
    assert_error(viewer_api.delete(LINKED), 403, "forbidden")

    assert member_api.delete(LINKED).status_code == 204

    assert not LinkedVersion.objects.exists()
    event = Event.objects.get(type="UNLINK_ARTIFACT")
    assert event.data["linked"]["ref"] == "acme/model/clf:v0"
    assert_error(member_api.delete(LINKED), 404, "not_found")
    again = member_api.post(COLLECTION + "/links", json={"artifact": "mnist/my-model:v0"})
    assert again.json()["version"] == "v1"
    assert viewer_api.get(COLLECTION).json()["latest"] == "v1"
