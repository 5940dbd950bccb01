"""Root query and mutation fields of the W&B schema (wandb_api/schema.graphql)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, build_schema

from projects.models import Project, Run
from teams.access import teams_of
from wandb_api import artifacts, storage
from wandb_api.models import WandbArtifact
from wandb_api.nodes import (
    ArtifactNode,
    EntityNode,
    OrganizationNode,
    ProjectNode,
    RegistryProjectNode,
    RunNode,
    manifest_value,
    parse_id,
    user_value,
)
from wandb_api.runs import ProtocolError, upsert_run, writable_team

SERVER_FEATURES = ("LARGE_FILENAMES", "ARTIFACT_TAGS", "EXPAND_DEFINED_METRIC_GLOBS")


@cache
def schema() -> GraphQLSchema:
    built = build_schema((Path(__file__).parent / "schema.graphql").read_text())
    collection = built.get_type("ArtifactCollection")
    collection.resolve_type = lambda value, info, type_: getattr(  # type: ignore[union-attr]
        value, "typename", "ArtifactSequence"
    )
    return built


class Root:
    """Both root types: query and mutation field names never clash."""

    def __init__(self, user: Any) -> None:
        self.user = user

    # --- Queries -------------------------------------------------------------

    def viewer(self, info: Any) -> dict[str, Any]:
        return user_value(self.user)

    def serverInfo(self, info: Any) -> dict[str, Any]:
        return {
            "features": [{"name": n, "isEnabled": True} for n in SERVER_FEATURES],
            "cliVersionInfo": {},
            "latestLocalVersionInfo": None,
            "availableBucketProviders": [],
            "frontendHost": None,
        }

    def _team(self, name: str | None) -> Any:
        for access in teams_of(self.user):
            if access.team.slug == name:
                return access.team
        if not name or name == self.user.username:
            teams = [a.team for a in teams_of(self.user)]
            return teams[0] if len(teams) == 1 else None
        return None

    def entity(self, info: Any, name: str | None = None) -> EntityNode | None:
        team = self._team(name)
        return EntityNode(team) if team else None

    def organization(self, info: Any, name: str | None = None) -> OrganizationNode | None:
        team = self._team(name)
        return OrganizationNode(team) if team else None

    def project(
        self, info: Any, name: str | None = None, entityName: str | None = None
    ) -> ProjectNode | RegistryProjectNode | None:
        team = self._team(entityName)
        if team is None or not name:
            return None
        if name.startswith(artifacts.REGISTRY_PREFIX) or name == artifacts.LEGACY_MODEL_REGISTRY:
            registry = artifacts.registry_named(team, name)
            return RegistryProjectNode(registry, name) if registry else None
        project = Project.objects.select_related("team").filter(team=team, name=name).first()
        return ProjectNode(project) if project else None

    def model(
        self, info: Any, name: str | None = None, entityName: str | None = None
    ) -> ProjectNode | RegistryProjectNode | None:
        return self.project(info, name, entityName)

    def clientIDMapping(self, info: Any, clientID: str) -> dict[str, Any] | None:
        wa = WandbArtifact.objects.filter(client_id=clientID).order_by("-pk").first()
        if wa is None:
            return None
        return {"serverID": ArtifactNode(wa, info.context["request"]).id}

    def artifact(self, info: Any, id: str) -> ArtifactNode | None:
        pk = parse_id("Artifact", id)
        wa = WandbArtifact.objects.select_related("project__team", "version").filter(pk=pk).first()
        if wa is None or self._team(wa.project.team.slug) is None:
            return None
        return ArtifactNode(wa, info.context["request"])

    def artifactCollection(self, info: Any, id: str) -> None:
        return None

    # --- Mutations -----------------------------------------------------------

    def upsertBucket(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        run, inserted = upsert_run(self.user, input)
        return {"bucket": RunNode(run), "inserted": inserted}

    def _run(self, entity: str, project: str, run_id: str) -> Run:
        team = writable_team(self.user, entity)
        run = Run.objects.filter(project__team=team, project__name=project, run_id=run_id).first()
        if run is None:
            raise ProtocolError(f"No run {run_id} in {team.slug}/{project}.")
        return run

    def createRunFiles(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        run = self._run(input["entityName"], input["projectName"], input["runName"])
        request = info.context["request"]
        files = []
        for name in input["files"]:
            try:
                url = storage.upload_url(request, "run", run.pk, name)
            except ValueError:
                url = None
            files.append({"name": name, "uploadUrl": url})
        return {"runID": RunNode(run).id, "uploadHeaders": [], "files": files}

    def markRunFilesUploaded(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        self._run(input["entityName"], input["projectName"], input["runName"])
        return {"success": True}

    def stopRun(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        return {"success": True}

    def createArtifact(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.create(self.user, input)
        return {"artifact": ArtifactNode(wa, info.context["request"])}

    def createArtifactManifest(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.by_id(parse_id("Artifact", input["artifactID"]), self.user)
        return {
            "artifactManifest": manifest_value(wa, info.context["request"], include_upload=True)
        }

    def updateArtifactManifest(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.by_id(parse_id("ArtifactManifest", input["artifactManifestID"]), self.user)
        return {
            "artifactManifest": manifest_value(wa, info.context["request"], include_upload=True)
        }

    def createArtifactFiles(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        request = info.context["request"]
        edges = []
        for spec in input["artifactFiles"]:
            wa = artifacts.by_id(parse_id("Artifact", spec["artifactID"]), self.user)
            name = spec["name"]
            try:
                url = storage.upload_url(request, "artifact", wa.pk, name)
            except ValueError as exc:
                raise ProtocolError(str(exc)) from exc
            edges.append(
                {
                    "node": {
                        "id": f"{wa.pk}:{name}",
                        "name": name,
                        "storagePath": name,
                        "uploadUrl": url,
                        "uploadHeaders": [],
                        "uploadMultipartUrls": None,
                        "artifact": ArtifactNode(wa, request),
                    }
                }
            )
        return {"files": {"edges": edges}}

    def commitArtifact(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.by_id(parse_id("Artifact", input["artifactID"]), self.user)
        return {"artifact": ArtifactNode(artifacts.commit(self.user, wa), info.context["request"])}

    def updateArtifact(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.by_id(parse_id("Artifact", input["artifactID"]), self.user)
        wa = artifacts.update(self.user, wa, input)
        return {"artifact": ArtifactNode(wa, info.context["request"])}

    def useArtifact(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        wa = artifacts.by_id(parse_id("Artifact", input["artifactID"]), self.user)
        return {"artifact": ArtifactNode(wa, info.context["request"])}

    def linkArtifact(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        index = artifacts.link(self.user, input)
        return {
            "versionIndex": index,
            "artifactMembership": {"id": str(index), "versionIndex": index},
        }
