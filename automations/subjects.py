"""The JSON shape of the things events are about, stored in ``Event.data``.

These dicts are the contract between the domain (which emits events) and the
engine (which filters on them and renders template variables from them).

- ``RUN_STATE``: ``{"run": run_data(run), "state": new, "previous_state": old}``
- ``RUN_METRIC``: ``{"run": run_data(run), "metrics": [names], "first_step": n, "last_step": n,
  "rows": n}`` (one event per history call; metric automations evaluate the new points)
- ``CREATE_ARTIFACT``: ``{"artifact": version_data(version)}``
- ``ADD_ARTIFACT_ALIAS`` (project): ``{"artifact": version_data(version), "alias": "production"}``
- ``LINK_ARTIFACT``: ``{"collection": name, "linked": linked_data(lv), "artifact": ...}``
- ``ADD_ARTIFACT_ALIAS`` (registry): ``{"collection": name, "linked": linked_data(lv),
  "artifact": version_data(source), "alias": "staging"}``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from projects.models import ArtifactVersion, Run
    from registries.models import Collection, LinkedVersion


def absolute_url(path: str) -> str:
    return settings.BEACON_BASE_URL + path


def run_data(run: Run) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "name": run.name,
        "display_name": run.display_name,
        "state": run.state,
        "author": run.author.username if run.author_id else "",
        "tags": list(run.tags),
        "url": absolute_url(run.get_absolute_url()),
    }


def version_data(version: ArtifactVersion) -> dict[str, Any]:
    artifact = version.artifact
    return {
        "id": version.pk,
        "name": artifact.name,
        "type": artifact.type,
        "project": artifact.project.name,
        "version": version.version,
        "index": version.index,
        "ref": version.ref,
        "stable_ref": f"beacon-artifact://{version.pk}",
        "digest": version.digest,
        "metadata": version.metadata,
        "aliases": sorted(a.alias for a in version.aliases.all()),
        "tags": list(version.tags),
        "url": absolute_url(artifact.get_absolute_url()) + f"#{version.version}",
    }


def linked_data(linked: LinkedVersion) -> dict[str, Any]:
    collection = linked.collection
    return {
        "id": linked.pk,
        "collection": collection.name,
        "version": linked.version,
        "index": linked.index,
        "ref": linked.ref,
        "stable_ref": f"beacon-artifact://{linked.source_id}",
        "aliases": sorted(a.alias for a in linked.aliases.all()),
        "tags": list(linked.tags),
        "metadata": linked.source.metadata,
        "url": absolute_url(collection.registry.get_absolute_url()) + f"#{collection.name}",
    }


def collection_data(collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.pk,
        "name": collection.name,
        "ref": collection.ref,
        "tags": list(collection.tags),
        "url": absolute_url(collection.registry.get_absolute_url()) + f"#{collection.name}",
    }
