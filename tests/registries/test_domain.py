"""Registry domain rules: collections on first link, per-collection numbering,
linked-version aliases that move."""

from __future__ import annotations

from typing import Any

import pytest

from automations.models import Event
from projects.models import Artifact, ArtifactVersion
from registries.models import Collection, LinkedVersion


@pytest.fixture
def versions(project: Any, member: Any) -> list[ArtifactVersion]:
    return [
        Artifact.log_version(project, name="m", type="model", digest=d, author=member)[0]
        for d in ("a", "b", "c")
    ]


def test_the_first_link_creates_the_collection(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    linked = registry.link("clf", versions[2], aliases=[], author=member)

    assert Collection.objects.get().name == "clf"
    assert (linked.version, linked.ref) == ("v0", "acme/model/clf:v0")
    assert linked.source == versions[2]
    event = Event.objects.get(type="LINK_ARTIFACT")
    assert (event.registry, event.data["collection"]) == (registry, "clf")
    assert event.data["artifact"]["ref"] == "acme/mnist/m:v2"


def test_linked_versions_are_numbered_per_collection(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    a = [registry.link("clf", v, aliases=[], author=member) for v in versions]
    b = registry.link("other", versions[0], aliases=[], author=member)

    assert [lv.version for lv in a] == ["v0", "v1", "v2"]
    assert b.version == "v0"
    collection = Collection.objects.get(name="clf")
    assert collection.resolve("v1").source == versions[1]


def test_linked_aliases_move_within_a_collection_only(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    first = registry.link("clf", versions[0], aliases=["production"], author=member)
    second = registry.link("clf", versions[1], aliases=[], author=member)
    elsewhere = registry.link("other", versions[1], aliases=["production"], author=member)

    assert second.add_alias("production", member) is True
    assert second.add_alias("production", member) is False

    clf = Collection.objects.get(name="clf")
    assert clf.resolve("production") == second
    assert first.alias_names() == []
    assert elsewhere.alias_names() == ["production"]
    registry_alias_events = Event.objects.filter(type="ADD_ARTIFACT_ALIAS", registry=registry)
    assert registry_alias_events.count() == 3


def test_a_bad_alias_links_nothing(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    with pytest.raises(ValueError):
        registry.link("clf", versions[0], aliases=["v2"], author=member)

    assert not LinkedVersion.objects.exists()
    assert not Collection.objects.exists()


def test_unknown_versions_and_aliases_do_not_resolve(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    registry.link("clf", versions[0], aliases=[], author=member)
    clf = Collection.objects.get()

    with pytest.raises(LinkedVersion.DoesNotExist):
        clf.resolve("v3")
    with pytest.raises(clf.aliases.model.DoesNotExist):
        clf.resolve("nope")


@pytest.mark.parametrize(
    ("target", "added", "removed", "extra"),
    [
        ("linked", "ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG", "linked"),
        ("collection", "ADD_COLLECTION_TAG", "REMOVE_COLLECTION_TAG", "collection_info"),
    ],
)
def test_tags_emit_once_per_change_in_registry_scope(
    registry: Any,
    versions: list[ArtifactVersion],
    member: Any,
    target: str,
    added: str,
    removed: str,
    extra: str,
) -> None:
    linked = registry.link("clf", versions[0], aliases=[], author=member)
    obj = linked if target == "linked" else linked.collection

    assert obj.add_tag("validated", member) is True
    assert obj.add_tag("validated", member) is False  # already there: nothing changes
    assert obj.remove_tag("absent", member) is False
    obj.refresh_from_db()
    assert obj.tags == ["validated"]
    assert obj.remove_tag("validated", member) is True
    obj.refresh_from_db()
    assert obj.tags == []

    assert Event.objects.filter(type=added).count() == 1
    assert Event.objects.filter(type=removed).count() == 1
    event = Event.objects.get(type=added)
    assert (event.registry, event.project) == (registry, None)
    assert (event.data["tag"], event.data["collection"]) == ("validated", "clf")
    assert event.author == member
    assert event.data[extra]["tags"] == ["validated"]
    with pytest.raises(ValueError):
        obj.add_tag("not a tag!", member)


def test_unlink_emits_and_never_reuses_the_number(
    registry: Any, versions: list[ArtifactVersion], member: Any
) -> None:
    registry.link("clf", versions[0], aliases=[], author=member)
    newest = registry.link("clf", versions[1], aliases=["staging"], author=member)

    stale = LinkedVersion.objects.get(pk=newest.pk)  # another request's copy
    assert newest.unlink(member) is True
    assert stale.unlink(member) is False  # already unlinked: nothing happens twice

    event = Event.objects.get(type="UNLINK_ARTIFACT")
    assert (event.registry, event.subject) == (registry, "acme/model/clf:v1")
    assert event.data["linked"]["aliases"] == ["staging"]
    assert event.data["artifact"]["ref"] == "acme/mnist/m:v1"
    assert not LinkedVersion.objects.filter(index=1).exists()
    assert ArtifactVersion.objects.filter(pk=versions[1].pk).exists()  # the source stays
    again = registry.link("clf", versions[2], aliases=[], author=member)
    assert again.version == "v2"
