"""Project-scoped API: runs, metric history, artifacts and aliases.

Viewers read; members and admins write. Projects are created on first write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.http import RFC3986_SUBDELIMS
from ninja import Router, Status

from automations.subjects import absolute_url
from config.api import ApiError
from config.pagination import MAX_OFFSET, link_next, page_url, paginate, window_of
from projects.models import (
    Artifact,
    ArtifactAlias,
    ArtifactVersion,
    MetricPoint,
    Project,
    Run,
    StepsGoBackwards,
    encode_number,
)
from projects.schemas import AliasIn, ArtifactIn, HistoryIn, RunIn, RunPatch, parse_history
from projects.series import DEFAULT_POINTS, SeriesQuery, metric_series
from teams.access import Role, get_team
from teams.models import Team
from teams.schemas import check_names, invalid

router = Router(tags=["projects"])


# --- Shapes ----------------------------------------------------------------


def project_out(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description,
        "url": absolute_url(project.get_absolute_url()),
        "created_at": project.created_at.isoformat(),
    }


def run_out(run: Run) -> dict[str, Any]:
    return {
        "id": run.run_id,
        "display_name": run.display_name,
        "name": run.name,
        "state": run.state,
        "url": absolute_url(run.get_absolute_url()),
        "project": run.project.name,
        "author": run.author.username if run.author_id else None,
        "config": run.config,
        "tags": run.tags,
        "summary": run.summary,
        "last_step": run.last_step,
        "source": run.source,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }


RUN_ROW_FIELDS = (
    "run_id", "display_name", "state", "author__username", "config", "tags", "summary",
    "last_step", "source", "created_at", "updated_at",
)


def run_row_out(row: dict[str, Any], project: str, project_url: str) -> dict[str, Any]:
    """``run_out`` of a ``values(*RUN_ROW_FIELDS)`` row of a run of ``project``."""
    return {
        "id": row["run_id"],
        "display_name": row["display_name"],
        "name": row["display_name"] or row["run_id"],
        "state": row["state"],
        "url": f"{project_url}runs/{quote(row['run_id'], safe=RFC3986_SUBDELIMS + '/~:@')}/",
        "project": project,
        "author": row["author__username"],
        "config": row["config"],
        "tags": row["tags"],
        "summary": row["summary"],
        "last_step": row["last_step"],
        "source": row["source"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def version_out(version: ArtifactVersion) -> dict[str, Any]:
    artifact = version.artifact
    return {
        "id": str(version.pk),
        "name": artifact.name,
        "type": artifact.type,
        "version": version.version,
        "index": version.index,
        "aliases": version.alias_names(),
        "tags": list(version.tags),
        "ref": version.ref,
        "stable_ref": f"beacon-artifact://{version.pk}",
        "digest": version.digest,
        "metadata": version.metadata,
        "author": version.author.username if version.author_id else None,
        "source": version.source,
        "created_at": version.created_at.isoformat(),
        "url": absolute_url(artifact.get_absolute_url()) + f"#{version.version}",
    }


def with_summaries(artifacts: QuerySet[Artifact]) -> QuerySet[Artifact]:
    """Artifacts with what ``artifact_out`` shows, in a fixed number of queries."""
    return artifacts.select_related("project__team").annotate(
        n_versions=Count("versions", distinct=True), latest_index=Max("versions__index")
    ).prefetch_related(
        Prefetch("aliases", queryset=ArtifactAlias.objects.select_related("version"))
    )


def artifact_out(artifact: Artifact) -> dict[str, Any]:
    if hasattr(artifact, "n_versions"):  # from ``with_summaries``
        count, index = artifact.n_versions, artifact.latest_index
        latest = None if index is None else f"v{index}"
        aliases = artifact.aliases.all()
    else:
        newest = artifact.latest()
        count, latest = artifact.versions.count(), newest.version if newest else None
        aliases = artifact.aliases.select_related("version")
    return {
        "name": artifact.name,
        "type": artifact.type,
        "project": artifact.project.name,
        "version_count": count,
        "latest": latest,
        "aliases": {a.alias: a.version.version for a in aliases},
        "url": absolute_url(artifact.get_absolute_url()),
        "created_at": artifact.created_at.isoformat(),
    }


# --- Lookups ---------------------------------------------------------------


def _project(team: Team, name: str) -> Project:
    check_names(project=name)
    project = team.projects.filter(name=name).first()
    if project is None:
        raise ApiError(404, "not_found", f"No project named {name} in this team.")
    return project


def _project_for_write(team: Team, name: str) -> Project:
    """Projects are created on first use, like ``wandb.init``."""
    check_names(project=name)
    try:
        with transaction.atomic():
            return Project.get_or_create_for(team, name)
    except IntegrityError:  # created concurrently
        return team.projects.get(name=name)


def _run(team: Team, project: str, run_id: str) -> Run:
    """The run ``run_id`` of ``team``'s project ``project``, with its project and author,
    in one query (the project's own lookup costs one more only when there is no such
    run, to say whether the project or the run is missing)."""
    check_names(project=project)
    check_names(run=run_id)
    try:
        run = Run.objects.select_related("project", "author").get(
            project__team=team, project__name=project, run_id=run_id
        )
    except Run.DoesNotExist:
        proj = _project(team, project)
        raise ApiError(404, "not_found", f"No run {run_id} in project {proj.name}.") from None
    run.project.team = team  # the caller's, already loaded: one join fewer
    return run


def _artifact(project: Project, name: str) -> Artifact:
    check_names(artifact=name)
    artifact = project.artifacts.select_related("project__team").filter(name=name).first()
    if artifact is None:
        raise ApiError(404, "not_found", f"No artifact named {name} in project {project.name}.")
    return artifact


def _version(artifact: Artifact, version: str) -> ArtifactVersion:
    check_names(version=version)
    try:
        return artifact.resolve(version)
    except ObjectDoesNotExist as exc:  # no such version, or no such alias
        raise ApiError(
            404, "not_found", f"Artifact {artifact.name} has no version or alias {version}."
        ) from exc


# --- Projects --------------------------------------------------------------


@router.get("/{team}/projects", summary="List projects (paginated: limit, offset, Link)")
def list_projects(
    request: HttpRequest, response: HttpResponse, team: str
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    projects = access.team.projects.select_related("team").order_by("name", "id")
    return [project_out(p) for p in paginate(request, response, projects)]


@router.get("/{team}/projects/{project}", summary="One project")
def get_project(request: HttpRequest, team: str, project: str) -> dict[str, Any]:
    access = get_team(request.user, team)
    return project_out(_project(access.team, project))


# --- Runs ------------------------------------------------------------------


@router.post(
    "/{team}/projects/{project}/runs",
    response={200: dict, 201: dict},
    summary="Start a run (the same id and body again: 200 with that run)",
)
def create_run(
    request: HttpRequest, team: str, project: str, payload: RunIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.MEMBER)
    proj = _project_for_write(access.team, project)
    try:
        run = Run.start(
            proj,
            author=request.user,
            run_id=payload.id,
            display_name=payload.display_name or "",
            config=payload.config,
            tags=payload.tags,
        )
    except IntegrityError as exc:  # Run.start is atomic: nothing was written
        existing = proj.runs.select_related("project__team", "author").filter(
            run_id=payload.id
        ).first()
        if existing is not None and _same_run(existing, payload, request.user):
            # A retry of a start that was saved (its answer was lost): the same run.
            return Status(200, run_out(existing))
        raise ApiError(409, "conflict", f"Run {payload.id} already exists in {proj.name}.") from exc
    return Status(201, run_out(run))


def _same_run(run: Run, payload: RunIn, user: Any) -> bool:
    """Whether ``payload`` from ``user`` is the body that started ``run``."""
    return (
        run.author_id == user.pk
        and run.display_name == (payload.display_name or "")
        and run.config == payload.config
        and run.tags == payload.tags
    )


RUNS_LIMIT = 50  # runs carry config and summary: pages of 50 by default (as wandb's API)


@router.get(
    "/{team}/projects/{project}/runs", summary="List runs, newest first (limit, offset, Link)"
)
def list_runs(
    request: HttpRequest, response: HttpResponse, team: str, project: str
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    proj = _project(access.team, project)
    # Plain rows, not model instances: building instances was most of a page's time.
    runs = proj.runs.order_by("-created_at", "-id").values(*RUN_ROW_FIELDS)
    base = absolute_url(proj.get_absolute_url())
    return [
        run_row_out(row, proj.name, base)
        for row in paginate(request, response, runs, default=RUNS_LIMIT)
    ]


@router.get("/{team}/projects/{project}/runs/{run}", summary="One run, with its summary")
def get_run(request: HttpRequest, team: str, project: str, run: str) -> dict[str, Any]:
    access = get_team(request.user, team)
    return run_out(_run(access.team, project, run))


@router.patch("/{team}/projects/{project}/runs/{run}", summary="Change the state of a run")
def patch_run(
    request: HttpRequest, team: str, project: str, run: str, payload: RunPatch
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _run(access.team, project, run)
    obj.set_state(payload.state, request.user)
    return run_out(obj)


@router.post(
    "/{team}/projects/{project}/runs/{run}/history",
    response={202: dict},
    summary="Append metric history rows",
)
def log_history(
    request: HttpRequest, team: str, project: str, run: str, payload: HistoryIn
) -> tuple[int, dict[str, int]]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _run(access.team, project, run)
    rows = parse_history(payload.rows, None)
    try:
        # Short transactions, one per chunk; rows already stored (a retry) are skipped.
        obj.append_history(
            rows, request.user,
            chunk_points=settings.BEACON_HISTORY_CHUNK_POINTS,
            pause=settings.BEACON_HISTORY_CHUNK_PAUSE,
        )
    except StepsGoBackwards as exc:
        fields = {f"rows.{exc.index}.step": [str(exc)]}
        raise invalid(fields, "Some history rows are not valid.") from exc
    return Status(202, {"accepted": len(rows)})


HISTORY_LIMIT = 10_000
HISTORY_MAX_LIMIT = 100_000


@router.get(
    "/{team}/projects/{project}/runs/{run}/history",
    summary="Metric history: (step, value) per metric, by step (limit points, after_step, Link)",
)
def get_history(
    request: HttpRequest,
    response: HttpResponse,
    team: str,
    project: str,
    run: str,
    metric: str | None = None,
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _run(access.team, project, run)
    window = window_of(request, default=HISTORY_LIMIT, maximum=HISTORY_MAX_LIMIT)
    after = _after_step(request)
    points, last = history_page(obj, None if metric is None else [metric], after, window.limit)
    if last is not None:
        link_next(response, page_url(request, after_step=last, limit=window.limit))
    metrics: dict[str, list[dict[str, Any]]] = {} if metric is None else {metric: []}
    for key, step, value in points:
        metrics.setdefault(key, []).append(
            {"step": step, "value": encode_number(MetricPoint.to_float(value))}
        )
    return {"metrics": dict(sorted(metrics.items()))}


def _after_step(request: HttpRequest) -> int | None:
    raw = request.GET.get("after_step")
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if not text.lstrip("-").isdigit() or len(text) > 20 or abs(int(text)) > MAX_OFFSET:
        raise ApiError(400, "invalid", "The request is not valid.",
                       {"after_step": ["Must be a whole number (a step)."]})
    return int(text)


def history_page(
    run: Run, keys: list[str] | None, after: int | None, limit: int
) -> tuple[list[tuple[str, int, float | None]], int | None]:
    """Up to ``limit`` points after step ``after``, by step then key, never splitting a
    step between pages; and the last step returned when more follow (else ``None``)."""
    points = run.metric_points.all()
    if keys is not None:
        points = points.filter(key__in=keys)
    if after is not None:
        points = points.filter(step__gt=after)
    ordered = points.order_by("step", "key", "id").values_list("key", "step", "value")
    rows = list(ordered[:limit + 1])
    if len(rows) <= limit:
        return rows, None
    cut = rows[limit][1]  # the first step not (wholly) on this page
    page = [row for row in rows[:limit] if row[1] != cut]
    if not page:  # one step holds more points than a page: it is the page, whole
        page = list(ordered.filter(step=cut))
        return page, cut if ordered.filter(step__gt=cut).exists() else None
    return page, page[-1][1]


@router.get(
    "/{team}/projects/{project}/runs/{run}/series",
    summary="One metric downsampled for a chart (LTTB), non-finite values as marks",
)
def get_series(
    request: HttpRequest,
    team: str,
    project: str,
    run: str,
    metric: str = "",
    points: int = DEFAULT_POINTS,
    start: int | None = None,
    end: int | None = None,
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _run(access.team, project, run)
    query = SeriesQuery(metric=metric, points=points, start=start, end=end)
    problems = query.problems()
    if problems:
        raise invalid(problems)
    return metric_series(obj, query)


# --- Artifacts -------------------------------------------------------------


@router.post(
    "/{team}/projects/{project}/artifacts",
    response={200: dict, 201: dict},
    summary="Log an artifact version (same digest as the newest: 200, nothing new)",
)
def log_artifact(
    request: HttpRequest, team: str, project: str, payload: ArtifactIn
) -> tuple[int, dict[str, Any]]:
    access = get_team(request.user, team, need=Role.MEMBER)
    proj = _project_for_write(access.team, project)
    existing = proj.artifacts.filter(name=payload.name).first()
    if existing is not None and existing.type != payload.type:
        raise _type_conflict(payload.name, existing.type, payload.type)
    try:
        version, created = Artifact.log_version(
            proj,
            name=payload.name,
            type=payload.type,
            digest=payload.digest,
            metadata=payload.metadata,
            aliases=list(dict.fromkeys(payload.aliases)),
            author=request.user,
        )
    except ValueError as exc:  # the artifact appeared concurrently with another type
        raise ApiError(409, "conflict", str(exc)) from exc
    return Status(201 if created else 200, version_out(version))


def _type_conflict(name: str, existing: str, wanted: str) -> ApiError:
    return ApiError(
        409,
        "conflict",
        f"Artifact {name} has type {existing!r}, not {wanted!r}; use another name.",
        {"type": [f"Must be {existing!r} for this artifact."]},
    )


@router.get("/{team}/projects/{project}/artifacts", summary="List artifacts (limit, offset, Link)")
def list_artifacts(
    request: HttpRequest, response: HttpResponse, team: str, project: str
) -> list[dict[str, Any]]:
    access = get_team(request.user, team)
    proj = _project(access.team, project)
    artifacts = with_summaries(proj.artifacts.order_by("name", "id"))
    return [artifact_out(a) for a in paginate(request, response, artifacts)]


@router.get(
    "/{team}/projects/{project}/artifacts/{artifact}",
    summary="One artifact with its versions, newest first (versions: limit, offset, Link)",
)
def get_artifact(
    request: HttpRequest, response: HttpResponse, team: str, project: str, artifact: str
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _artifact(_project(access.team, project), artifact)
    versions = (
        obj.versions.select_related("artifact__project__team", "author")
        .prefetch_related("aliases")
        .order_by("-index")
    )
    page = paginate(request, response, versions)
    return {**artifact_out(obj), "versions": [version_out(v) for v in page]}


@router.get(
    "/{team}/projects/{project}/artifacts/{artifact}/versions/{version}",
    summary="One artifact version (by v3 or alias)",
)
def get_artifact_version(
    request: HttpRequest, team: str, project: str, artifact: str, version: str
) -> dict[str, Any]:
    access = get_team(request.user, team)
    obj = _artifact(_project(access.team, project), artifact)
    return version_out(_version(obj, version))


@router.post(
    "/{team}/projects/{project}/artifacts/{artifact}/versions/{version}/aliases",
    summary="Add an alias to a version (moves it from another version)",
)
def add_artifact_alias(
    request: HttpRequest, team: str, project: str, artifact: str, version: str, payload: AliasIn
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _version(_artifact(_project(access.team, project), artifact), version)
    obj.add_alias(payload.alias, request.user)
    return version_out(obj)

