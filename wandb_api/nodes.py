"""GraphQL object values: thin wrappers over Beacon rows, one per schema type.

graphql-core's default resolver reads an attribute of the same name as the field,
calling it with ``(info, **arguments)`` when it is a method."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.http import HttpRequest

from projects.models import Artifact, Project, Run
from registries.models import Collection, LinkedVersion, Registry
from teams.models import Team
from wandb_api import storage
from wandb_api.models import WandbArtifact, WandbRun

MANIFEST = "wandb_manifest.json"


def node_id(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def parse_id(kind: str, value: str | None) -> int | None:
    """The primary key in a ``node_id`` of ``kind``; None when it is not one."""
    if not value:
        return None
    try:
        found, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
        return int(pk) if found == kind else None
    except (ValueError, UnicodeDecodeError):
        return None


class EntityNode:
    def __init__(self, team: Team) -> None:
        self.team = team
        self.id = node_id("Entity", team.pk)
        self.name = team.slug
        self.isTeam = True
        self.xxhashDigestsEnabled = False
        self.defaultAccess = "PRIVATE"
        self.readOnlyAdmin = False
        self.privateOnly = False
        self.codeSavingEnabled = False
        self.isPaid = False

    def organization(self, info: Any) -> OrganizationNode:
        return OrganizationNode(self.team)

    def user(self, info: Any) -> dict[str, Any]:
        return {"organizations": [OrganizationNode(self.team)]}


class OrganizationNode:
    """Beacon has no organizations above teams: a team is its own organization."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self.id = node_id("Organization", team.pk)
        self.name = team.slug
        self.coreWeaveOrganizationId = None

    def orgEntity(self, info: Any) -> EntityNode:
        return EntityNode(self.team)

    def featureFlags(self, info: Any, rampIDType: str | None = None) -> list[Any]:
        return []


def wandb_config(config: dict[str, Any]) -> str:
    return json.dumps({k: {"desc": None, "value": v} for k, v in config.items()})


class RunNode:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.id = node_id("Run", run.pk)
        self.name = run.run_id
        self.projectId = str(run.project_id)  # the SDK reads it as an int
        self.displayName = run.display_name or run.run_id
        self.description = ""
        self.state = run.state
        self.tags = list(run.tags)
        self.config = wandb_config(run.config)
        # NaN and infinities stay the API's strings: wandb-core's JSON parser refuses them.
        self.summaryMetrics = json.dumps(run.summary)
        self.systemMetrics = "{}"
        self.sweepName = None
        self.commit = None
        self.readOnly = False
        self.createdAt = run.created_at.isoformat()
        self.eventsLineCount = 0
        self.historyTail = json.dumps(
            [] if run.last_step is None else [json.dumps({"_step": run.last_step})]
        )
        self.eventsTail = "[]"
        self.stopped = False
        self.historyKeys = None
        side: WandbRun | None = getattr(run, "wandb", None)  # select_related("wandb") in lists
        self.notes = side.notes if side else ""
        self.group = side.group if side else ""
        self.jobType = side.job_type if side else ""
        self.historyLineCount = side.history_lines if side else 0
        self.logLineCount = side.log_lines if side else 0
        self.exitcode = side.exit_code if side else None
        self.heartbeatAt = (side.last_heartbeat_at if side else run.updated_at).isoformat()

    def wandbConfig(self, info: Any, keys: list[str] | None = None) -> str:
        # wandb-core treats a run as started (resumable) when its "t" key is present.
        return json.dumps({"t": {}})

    def user(self, info: Any) -> dict[str, Any] | None:
        author = self.run.author
        return user_value(author) if author else None

    def project(self, info: Any) -> ProjectNode:
        return ProjectNode(self.run.project)


def user_value(user: Any, entity: str | None = None) -> dict[str, Any]:
    from teams.access import teams_of

    teams = [a.team for a in teams_of(user)]
    return {
        "id": node_id("User", user.pk),
        "name": user.get_full_name() or user.username,
        "username": user.username,
        "email": user.email,
        "entity": entity or (teams[0].slug if len(teams) == 1 else user.username),
        "admin": False,
        "flags": "{}",
        "teams": {"edges": [{"node": EntityNode(t)} for t in teams]},
    }


class ProjectNode:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.id = node_id("Project", project.pk)
        self.internalId = str(project.pk)
        self.name = project.name
        self.entityName = project.team.slug
        self.readOnly = False

    def entity(self, info: Any) -> EntityNode:
        return EntityNode(self.project.team)

    def bucket(self, info: Any, name: str, missingOk: bool | None = None) -> RunNode | None:
        run = self.project.runs.filter(run_id=name).first()
        return RunNode(run) if run else None

    def run(self, info: Any, name: str) -> RunNode | None:
        return self.bucket(info, name)

    def runCount(self, info: Any, filters: str | None = None) -> int:
        return self.project.runs.count()

    def runs(
        self,
        info: Any,
        filters: str | None = None,
        after: str | None = None,
        first: int | None = None,
        order: str | None = None,
    ) -> dict[str, Any]:
        """Newest first, ``first`` at a time after the cursor (a run's primary key);
        ``filters`` (MongoDB-style) are not applied."""
        runs = self.project.runs.select_related("project__team", "author", "wandb").order_by(
            "-pk"
        )
        if after and after.isdigit():
            runs = runs.filter(pk__lt=int(after))
        size = max(1, min(first or 50, 1000))
        page = list(runs[: size + 1])
        edges = [{"node": RunNode(r), "cursor": str(r.pk)} for r in page[:size]]
        return {
            "edges": edges,
            "pageInfo": {
                "endCursor": edges[-1]["cursor"] if edges else None,
                "hasNextPage": len(page) > size,
            },
        }

    def artifactType(self, info: Any, name: str) -> ArtifactTypeNode:
        return ArtifactTypeNode(self.project, name)

    def artifactCollection(self, info: Any, name: str) -> SequenceNode | None:
        artifact = self.project.artifacts.filter(name=name).first()
        return SequenceNode(self.project, artifact.type, name) if artifact else None

    def artifact(self, info: Any, name: str) -> ArtifactNode | None:
        from wandb_api.artifacts import resolve_name

        found = resolve_name(self.project, name)
        return ArtifactNode(found, info.context["request"]) if found else None

    def artifactCollectionMembership(self, info: Any, name: str) -> dict[str, Any] | None:
        found = self.artifact(info, name)
        return found.membership() if found else None


class ArtifactTypeNode:
    def __init__(self, project: Project, name: str) -> None:
        self.project = project
        self.name = name
        self.id = node_id("ArtifactType", project.pk)

    def artifactCollection(self, info: Any, name: str) -> SequenceNode | None:
        exists = Artifact.objects.filter(project=self.project, name=name, type=self.name).exists()
        return SequenceNode(self.project, self.name, name) if exists else None

    def artifactSequence(self, info: Any, name: str) -> SequenceNode | None:
        return self.artifactCollection(info, name)


class SequenceNode:
    typename = "ArtifactSequence"

    def __init__(self, project: Project, type_name: str, name: str) -> None:
        self.project_row = project
        self.type_name = type_name
        self.name = name
        artifact = project.artifacts.filter(name=name).first()
        self.id = node_id("ArtifactSequence", artifact.pk if artifact else 0)
        self.artifact_row = artifact
        self.description = ""
        self.digestAlgorithm = "MANIFEST_MD5"

    def project(self, info: Any) -> ProjectNode:
        return ProjectNode(self.project_row)

    def artifactMembership(self, info: Any, aliasName: str) -> dict[str, Any] | None:
        from wandb_api.artifacts import resolve_name

        found = resolve_name(self.project_row, f"{self.name}:{aliasName}")
        return ArtifactNode(found, info.context["request"]).membership() if found else None

    def latestArtifact(self, info: Any) -> ArtifactNode | None:
        from wandb_api.artifacts import node_for_version

        latest = self.artifact_row.latest() if self.artifact_row else None
        return ArtifactNode(node_for_version(latest), info.context["request"]) if latest else None


class ArtifactNode:
    def __init__(self, wa: WandbArtifact, request: HttpRequest) -> None:
        self.wa = wa
        self.request = request
        self.id = node_id("Artifact", wa.pk)
        self.digest = wa.digest
        self.state = wa.state
        self.description = wa.description
        self.metadata = json.dumps(wa.metadata)
        self.commitHash = wa.digest[:20]
        version = wa.version
        self.versionIndex = version.index if version else None
        self.fileCount = 0
        self.size = 0
        self.createdAt = wa.created_at.isoformat()
        self.updatedAt = self.createdAt
        self.ttlDurationSeconds = -2
        self.ttlIsInherited = True
        self.tags: list[Any] = []
        self.historyStep = None
        self.digestAlgorithm = "MANIFEST_MD5"

    def aliases(self, info: Any) -> list[dict[str, Any]]:
        if self.wa.version is None:
            return []
        collection = SequenceNode(self.wa.project, self.wa.type, self.wa.name)
        return [
            {
                "id": node_id("ArtifactAlias", self.wa.pk),
                "alias": a,
                "artifactCollectionName": self.wa.name,
                "artifactCollection": collection,
            }
            for a in self.wa.version.alias_names()
        ]

    def files(self, info: Any, after: str | None = None, first: int | None = None) -> dict:
        """The artifact's files (from its uploaded manifest) with download URLs."""
        path = storage.artifact_file_path(self.wa.pk, MANIFEST)
        try:
            contents = json.loads(path.read_text()).get("contents", {})
        except (OSError, ValueError, AttributeError):
            contents = {}
        edges = []
        url = storage.download_url
        for name, entry in sorted(contents.items()):
            entry = entry if isinstance(entry, dict) else {}
            edges.append(
                {
                    "cursor": name,
                    "node": {
                        "id": node_id("File", self.wa.pk),
                        "name": name,
                        "directUrl": url(self.request, "artifact", self.wa.pk, name),
                        "md5": entry.get("digest"),
                        "sizeBytes": entry.get("size"),
                        "uploadHeaders": [],
                    },
                }
            )
        return {"pageInfo": {"endCursor": None, "hasNextPage": False}, "edges": edges}

    def membership(self) -> dict[str, Any]:
        return {
            "id": node_id("ArtifactCollectionMembership", self.wa.pk),
            "versionIndex": self.versionIndex,
            "createdAt": self.createdAt,
            "aliases": lambda info: self.aliases(info),
            "artifactCollection": SequenceNode(self.wa.project, self.wa.type, self.wa.name),
            "artifact": self,
            "files": self.files,
        }

    def artifactType(self, info: Any) -> ArtifactTypeNode:
        return ArtifactTypeNode(self.wa.project, self.wa.type)

    def artifactSequence(self, info: Any) -> SequenceNode:
        return SequenceNode(self.wa.project, self.wa.type, self.wa.name)

    def currentManifest(self, info: Any) -> dict[str, Any]:
        return manifest_value(self.wa, self.request, include_upload=False)


def manifest_value(
    wa: WandbArtifact, request: HttpRequest, *, include_upload: bool
) -> dict[str, Any]:
    name = MANIFEST
    return {
        "id": node_id("ArtifactManifest", wa.pk),
        "file": {
            "id": node_id("File", wa.pk),
            "name": name,
            "directUrl": storage.download_url(request, "artifact", wa.pk, name),
            "uploadUrl": storage.upload_url(request, "artifact", wa.pk, name)
            if include_upload
            else None,
            "uploadHeaders": [],
        },
    }


class PortfolioNode:
    """A registry collection, seen as W&B's ``ArtifactPortfolio``."""

    typename = "ArtifactPortfolio"

    def __init__(self, collection: Collection, project_name: str) -> None:
        self.collection = collection
        self.project_name = project_name
        self.id = node_id("ArtifactPortfolio", collection.pk)
        self.name = collection.name
        self.description = ""

    def project(self, info: Any) -> RegistryProjectNode:
        return RegistryProjectNode(self.collection.registry, self.project_name)

    def artifactMembership(self, info: Any, aliasName: str) -> dict[str, Any] | None:
        project = RegistryProjectNode(self.collection.registry, self.project_name)
        return project.artifactCollectionMembership(info, f"{self.name}:{aliasName}")

    def latestArtifact(self, info: Any) -> ArtifactNode | None:
        from wandb_api.artifacts import node_for_version

        newest = self.collection.versions.order_by("-index").first()
        return (
            ArtifactNode(node_for_version(newest.source), info.context["request"])
            if newest
            else None
        )


class RegistryProjectNode:
    """A registry, seen as the W&B project ``wandb-registry-<name>`` (or ``model-registry``)."""

    def __init__(self, registry: Registry, name: str) -> None:
        self.registry = registry
        self.id = node_id("RegistryProject", registry.pk)
        self.internalId = str(registry.pk)
        self.name = name
        self.entityName = registry.team.slug
        self.readOnly = False

    def entity(self, info: Any) -> EntityNode:
        return EntityNode(self.registry.team)

    def bucket(self, info: Any, name: str, missingOk: bool | None = None) -> None:
        return None

    def run(self, info: Any, name: str) -> None:
        return None

    def runCount(self, info: Any, filters: str | None = None) -> int:
        return 0

    def runs(self, info: Any, **kwargs: Any) -> dict[str, Any]:
        return {"edges": [], "pageInfo": {"endCursor": None, "hasNextPage": False}}

    def artifactType(self, info: Any, name: str) -> None:
        return None

    def artifactCollection(self, info: Any, name: str) -> PortfolioNode | None:
        collection = self.registry.collections.filter(name=name).first()
        return PortfolioNode(collection, self.name) if collection else None

    def artifact(self, info: Any, name: str) -> ArtifactNode | None:
        found = self.artifactCollectionMembership(info, name)
        return found["artifact"] if found else None

    def artifactCollectionMembership(self, info: Any, name: str) -> dict[str, Any] | None:
        from wandb_api.artifacts import node_for_version

        base, _, which = name.partition(":")
        collection = self.registry.collections.filter(name=base).first()
        if collection is None:
            return None
        try:
            linked = (
                collection.resolve(which)
                if which
                else collection.versions.order_by("-index").first()
            )
        except LinkedVersion.DoesNotExist:
            return None
        if linked is None:
            return None
        portfolio = PortfolioNode(collection, self.name)
        aliases = [
            {
                "id": node_id("LinkedAlias", linked.pk),
                "alias": alias,
                "artifactCollectionName": collection.name,
                "artifactCollection": portfolio,
            }
            for alias in linked.alias_names()
        ]
        artifact = ArtifactNode(node_for_version(linked.source), info.context["request"])
        return {
            "id": node_id("ArtifactCollectionMembership", linked.pk),
            "versionIndex": linked.index,
            "createdAt": linked.created_at.isoformat(),
            "aliases": aliases,
            "artifactCollection": portfolio,
            "artifact": artifact,
            "files": artifact.files,
        }
