"""Registry-scoped API: registries (admins create), links and aliases (members write).

Collections are created on first link.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from automations.subjects import absolute_url
from config.api import ApiError
from config.pagination import paginate
from projects.models import ArtifactVersion
from projects.schemas import AliasIn, TagIn, check_tag
from registries.models import Collection, LinkedAlias, LinkedVersion, Registry
from registries.refs import find_source
from registries.schemas import LinkIn, RegistryIn
from teams.access import Role, get_team
from teams.models import Team
from teams.schemas import check_names, invalid

router = Router(tags=["registries"])


def registry_out(registry: Registry) -> dict[str, Any]:
    return {
        "name": registry.name,
        "description": registry.description,
        "url": absolute_url(registry.get_absolute_url()),
        "created_at": registry.created_at.isoformat(),
    }


def with_summaries(collections: QuerySet[Collection]) -> QuerySet[Collection]:
    """Collections with what ``collection_out`` shows, in a fixed number of queries."""
    return collections.select_related("registry").annotate(
        n_versions=Count("versions", distinct=True), latest_index=Max("versions__index")
    ).prefetch_related(
        Prefetch("aliases", queryset=LinkedAlias.objects.select_related("version"))
    )


def collection_out(collection: Collection) -> dict[str, Any]:
    if hasattr(collection, "n_versions"):  # from ``with_summaries``
        count, index = collection.n_versions, collection.latest_index
        latest = None if index is None else f"v{index}"
        aliases = collection.aliases.all()
    else:
        newest = collection.versions.order_by("-index").first()
        count, latest = collection.versions.count(), newest.version if newest else None
        aliases = collection.aliases.select_related("version")
    return {
        "name": collection.name,
        "registry": collection.registry.name,
        "version_count": count,
        "latest": latest,
        "aliases": {a.alias: a.version.version for a in aliases},
        "tags": list(collection.tags),
        "created_at": collection.created_at.isoformat(),
    }


def linked_out(linked: LinkedVersion) -> dict[str, Any]:
    return {
        "id": str(linked.pk),
        "collection": linked.collection.name,
        "version": linked.version,
        "index": linked.index,
        "aliases": linked.alias_names(),
        "tags": list(linked.tags),
        "ref": linked.ref,
        "source": linked.source.ref,
        "stable_ref": f"beacon-artifact://{linked.source_id}",
        "type": linked.source.artifact.type,
        "digest": linked.source.digest,
        "metadata": linked.source.metadata,
        "author": linked.author.username if linked.author_id else None,
        "via": linked.via,
        "created_at": linked.created_at.isoformat(),
    }


def _registry(team: Team, name: str) -> Registry:
    check_names(registry=name)
    registry = team.registries.filter(name=name).first()
    if registry is None:
        raise ApiError(404, "not_found", f"No registry named {name} in this team.")
    return registry


def _collection(registry: Registry, name: str) -> Collection:
    check_names(collection=name)
    collection = registry.collections.select_related("registry__team").filter(name=name).first()
    if collection is None:
        raise ApiError(404, "not_found", f"No collection named {name} in registry {registry.name}.")
    return collection


def _source(team: Team, text: str) -> ArtifactVersion:
    """``{project}/{artifact}:{version-or-alias}`` of this team → the artifact version."""
    try:
        version = find_source(team, text)
    except ValueError as exc:
        raise invalid({"artifact": [str(exc)]}) from None
    if version is None:
        raise ApiError(404, "not_found", f"No artifact version {text} in this team.")
    return version


@router.get("/{team}/registries", summary="List registries (limit, offset, Link)")
def list_registries(
    request: HttpRequest, response: HttpResponse, team: str
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    registries = access.team.registries.select_related("team").order_by("name", "id")
    return [registry_out(r) for r in paginate(request, response, registries)]


@router.post("/{team}/registries", response={201: dict}, summary="Create a registry (admin)")
def create_registry(
    request: HttpRequest, team: str, payload: RegistryIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.ADMIN)
    try:
        with transaction.atomic():
            registry = Registry.objects.create(
                team=access.team, name=payload.name, description=payload.description
            )
    except IntegrityError as exc:
        raise ApiError(
            409, "conflict", f"A registry named {payload.name} already exists."
        ) from exc
    return Status(201, registry_out(registry))


@router.get(
    "/{team}/registries/{registry}",
    summary="One registry with its collections (collections: limit, offset, Link)",
)
def get_registry(
    request: HttpRequest, response: HttpResponse, team: str, registry: str
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _registry(access.team, registry)
    ordered = with_summaries(obj.collections.order_by("name", "id"))
    collections = paginate(request, response, ordered)
    return {**registry_out(obj), "collections": [collection_out(c) for c in collections]}


@router.get(
    "/{team}/registries/{registry}/collections/{collection}",
    summary="One collection with its linked versions, newest first (limit, offset, Link)",
)
def get_collection(
    request: HttpRequest, response: HttpResponse, team: str, registry: str, collection: str
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _collection(_registry(access.team, registry), collection)
    versions = (
        obj.versions.select_related(
            "collection__registry__team", "source__artifact__project__team", "author"
        )
        .prefetch_related("aliases")
        .order_by("-index")
    )
    page = paginate(request, response, versions)
    return {**collection_out(obj), "versions": [linked_out(v) for v in page]}


@router.post(
    "/{team}/registries/{registry}/collections/{collection}/links",
    response={201: dict},
    summary="Link an artifact version into a collection (created on first link)",
)
def link_version(
    request: HttpRequest, team: str, registry: str, collection: str, payload: LinkIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _registry(access.team, registry)
    check_names(collection=collection)
    source = _source(access.team, payload.artifact)
    try:
        with transaction.atomic():
            linked = obj.link(
                collection,
                source,
                aliases=list(dict.fromkeys(payload.aliases)),
                author=request.user,
            )
    except IntegrityError as exc:  # two first links raced to create the collection
        raise ApiError(409, "conflict", "The collection changed meanwhile; try again.") from exc
    return Status(201, linked_out(linked))


@router.post(
    "/{team}/registries/{registry}/collections/{collection}/versions/{version}/aliases",
    summary="Add an alias to a linked version (moves it within the collection)",
)
def add_linked_alias(
    request: HttpRequest,
    team: str,
    registry: str,
    collection: str,
    version: str,
    payload: AliasIn,
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    linked = _linked(_collection(_registry(access.team, registry), collection), version)
    linked.add_alias(payload.alias, request.user)
    return linked_out(linked)


def _linked(collection: Collection, version: str) -> LinkedVersion:
    check_names(version=version)
    try:
        return collection.resolve(version)
    except ObjectDoesNotExist as exc:  # no such version, or no such alias
        raise ApiError(
            404, "not_found", f"Collection {collection.name} has no version or alias {version}."
        ) from exc


COLLECTION_PATH = "/{team}/registries/{registry}/collections/{collection}"


def _unlinked_meanwhile(linked: LinkedVersion) -> ApiError:
    return ApiError(404, "not_found", f"{linked.ref} was unlinked meanwhile.")


def _change_linked_tag(linked: LinkedVersion, tag: str, user: Any, *, add: bool) -> None:
    """Add (or remove) ``tag``; a 404 when a concurrent request unlinked the version."""
    try:
        if add:
            linked.add_tag(tag, user)
        else:
            linked.remove_tag(tag, user)
    except LinkedVersion.DoesNotExist as exc:
        raise _unlinked_meanwhile(linked) from exc


@router.delete(
    COLLECTION_PATH + "/versions/{version}",
    response={204: None},
    summary="Unlink a version from its collection (its number is never reused)",
)
def unlink_version(
    request: HttpRequest, team: str, registry: str, collection: str, version: str
) -> Status:
    access = get_team(request.user, team, need=Role.MEMBER)
    linked = _linked(_collection(_registry(access.team, registry), collection), version)
    if not linked.unlink(request.user):
        raise _unlinked_meanwhile(linked)
    return Status(204, None)


@router.post(COLLECTION_PATH + "/versions/{version}/tags", summary="Tag a linked version")
def add_linked_tag(
    request: HttpRequest,
    team: str,
    registry: str,
    collection: str,
    version: str,
    payload: TagIn,
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    linked = _linked(_collection(_registry(access.team, registry), collection), version)
    _change_linked_tag(linked, payload.tag, request.user, add=True)
    return linked_out(linked)


@router.delete(
    COLLECTION_PATH + "/versions/{version}/tags/{tag}",
    response={204: None},
    summary="Remove a tag from a linked version",
)
def remove_linked_tag(
    request: HttpRequest, team: str, registry: str, collection: str, version: str, tag: str
) -> Status:
    access = get_team(request.user, team, need=Role.MEMBER)
    linked = _linked(_collection(_registry(access.team, registry), collection), version)
    check_tag(tag)
    _change_linked_tag(linked, tag, request.user, add=False)
    return Status(204, None)


@router.post(COLLECTION_PATH + "/tags", summary="Tag a collection")
def add_collection_tag(
    request: HttpRequest, team: str, registry: str, collection: str, payload: TagIn
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _collection(_registry(access.team, registry), collection)
    obj.add_tag(payload.tag, request.user)
    return collection_out(obj)


@router.delete(
    COLLECTION_PATH + "/tags/{tag}",
    response={204: None},
    summary="Remove a tag from a collection",
)
def remove_collection_tag(
    request: HttpRequest, team: str, registry: str, collection: str, tag: str
) -> Status:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _collection(_registry(access.team, registry), collection)
    check_tag(tag)
    obj.remove_tag(tag, request.user)
    return Status(204, None)
