"""Project pages: runs (with metric charts) and artifacts (with versions and aliases)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from projects import files
from projects.chart_marks import automation_marks
from projects.forms import AliasForm, TagForm
from projects.models import Artifact, ArtifactVersion, Project, Run, Source, TaggedMixin
from projects.recent import recent_rows
from projects.series import DEFAULT_POINTS, SeriesQuery, metric_series
from teams.access import Role, TeamAccess, get_team

RECENT_STEPS = 10
RUNS_PER_PAGE = 25
ARTIFACTS_PER_PAGE = 25
VERSIONS_PER_PAGE = 50


def _project(
    request: HttpRequest, slug: str, name: str, need: str = Role.VIEWER
) -> tuple[TeamAccess, Project]:
    access = get_team(request.user, slug, need=need)
    return access, get_object_or_404(Project, team=access.team, name=name)


def _context(
    access: TeamAccess, project: Project, *crumbs: tuple[str, str | None]
) -> dict[str, Any]:
    team = access.team
    return {
        "team": team,
        "access": access,
        "project": project,
        "breadcrumbs": [
            (team.name, team.get_absolute_url()),
            (project.name, project.get_absolute_url() if crumbs else None),
            *crumbs,
        ],
    }


@login_required
def project_detail(request: HttpRequest, slug: str, project: str) -> HttpResponse:
    access, proj = _project(request, slug, project)
    runs = Paginator(
        proj.runs.select_related("author", "project__team").order_by("-created_at", "-id"),
        RUNS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    artifacts = _artifact_rows(request, proj)
    ctx = _context(access, proj)
    ctx.update({"tab": "runs", "runs": runs, "artifacts": artifacts})
    return render(request, "projects/project_detail.html", ctx)


@login_required
def project_artifacts(request: HttpRequest, slug: str, project: str) -> HttpResponse:
    access, proj = _project(request, slug, project)
    artifacts = _artifact_rows(request, proj)
    ctx = _context(access, proj, ("Artifacts", None))
    ctx.update({"tab": "artifacts", "artifacts": artifacts})
    return render(request, "projects/project_artifacts.html", ctx)


def _artifact_rows(request: HttpRequest, project: Project) -> Page:
    """One page (``?artifacts_page=``) of the project's artifacts with their version counts."""
    counts = (
        ArtifactVersion.objects.filter(artifact=OuterRef("pk"))
        .order_by().values("artifact").annotate(n=Count("pk")).values("n")
    )
    artifacts = project.artifacts.select_related("project__team").annotate(
        n_versions=Coalesce(Subquery(counts), 0)
    ).order_by("name", "id")
    return Paginator(artifacts, ARTIFACTS_PER_PAGE).get_page(request.GET.get("artifacts_page"))


@login_required
def run_detail(request: HttpRequest, slug: str, project: str, run_id: str) -> HttpResponse:
    access, proj = _project(request, slug, project)
    run = get_object_or_404(Run.objects.select_related("author"), project=proj, run_id=run_id)
    marks = automation_marks(run)
    counts = (
        run.metric_points.order_by("key").values_list("key").annotate(n=Count("id"))
    )
    series_url = reverse("run_series", args=[slug, proj.name, run.run_id])
    charts = [
        {
            "key": key,
            "count": n,
            "series_url": f"{series_url}?{urlencode({'metric': key})}",
            **marks.get(key, {"thresholds": [], "markers": []}),
        }
        for key, n in counts
    ]
    keys = [c["key"] for c in charts]
    ctx = _context(access, proj, (run.name, None))
    ctx.update(
        {"tab": "runs", "run": run, "charts": charts, "metric_keys": keys,
         "recent": recent_rows(run, keys, RECENT_STEPS), "chart_points": DEFAULT_POINTS,
         "files": files.walk(files.run_folder(run)),
         # The W&B side (exit code, heartbeat, group…) of a run logged with wandb.
         "run_wandb": getattr(run, "wandb", None) if run.source == Source.WANDB else None}
    )
    return render(request, "projects/run_detail.html", ctx)


@login_required
def run_series(request: HttpRequest, slug: str, project: str, run_id: str) -> JsonResponse:
    """A metric's chart series for the run page's script (the API's ``…/series``
    answer, with the page's session instead of an API key)."""
    access, proj = _project(request, slug, project)
    run = get_object_or_404(Run, project=proj, run_id=run_id)
    try:
        query = SeriesQuery(
            metric=request.GET.get("metric", ""),
            points=int(request.GET.get("points", DEFAULT_POINTS)),
            start=_optional_int(request.GET.get("start")),
            end=_optional_int(request.GET.get("end")),
        )
    except ValueError:
        return JsonResponse({"error": "points, start and end are whole numbers."}, status=400)
    problems = query.problems()
    if problems:
        return JsonResponse({"error": "The request is not valid.", "fields": problems}, status=400)
    return JsonResponse(metric_series(run, query))


def _optional_int(value: str | None) -> int | None:
    return None if value in (None, "") else int(value)


@login_required
def run_file(
    request: HttpRequest, slug: str, project: str, run_id: str, path: str
) -> FileResponse:
    """Download one file of a run (``BEACON_ARTIFACT_ROOT``), for any team member."""
    access, proj = _project(request, slug, project)
    run = get_object_or_404(Run, project=proj, run_id=run_id)
    try:
        handle = files.open_file(files.run_folder(run), path)
    except ValueError as exc:
        raise Http404("No such file.") from exc
    if handle is None:
        raise Http404("No such file.")
    return FileResponse(handle, as_attachment=True, filename=path.rsplit("/", 1)[-1])


def _artifact_page(
    request: HttpRequest,
    access: TeamAccess,
    artifact: Artifact,
    form: AliasForm,
    status: int = 200,
    tag_form: TagForm | None = None,
) -> HttpResponse:
    versions = Paginator(
        artifact.versions.select_related("author", "artifact__project__team")
        .prefetch_related("aliases").order_by("-index"),
        VERSIONS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    ctx = _context(access, artifact.project, ("Artifacts", None), (artifact.name, None))
    ctx["breadcrumbs"][2] = ("Artifacts", _artifacts_url(access, artifact.project))
    ctx.update({
        "tab": "artifacts", "artifact": artifact, "versions": versions, "form": form,
        "tag_form": tag_form or TagForm(artifact=artifact, prefix="tag"),
    })
    return render(request, "projects/artifact_detail.html", ctx, status=status)


def _artifacts_url(access: TeamAccess, project: Project) -> str:
    return reverse("project_artifacts", args=[access.team.slug, project.name])


@login_required
def artifact_detail(request: HttpRequest, slug: str, project: str, name: str) -> HttpResponse:
    access, proj = _project(request, slug, project)
    artifact = get_object_or_404(Artifact, project=proj, name=name)
    return _artifact_page(request, access, artifact, AliasForm(artifact=artifact))


@login_required
@require_POST
def artifact_alias(request: HttpRequest, slug: str, project: str, name: str) -> HttpResponse:
    access, proj = _project(request, slug, project, need=Role.MEMBER)
    artifact = get_object_or_404(Artifact, project=proj, name=name)
    form = AliasForm(request.POST, artifact=artifact)
    if not form.is_valid():
        return _artifact_page(request, access, artifact, form, status=400)
    version, alias = form.cleaned_data["version"], form.cleaned_data["alias"]
    if version.add_alias(alias, request.user):
        messages.success(request, f"{alias} now points at {version.version}.")
    else:
        messages.info(request, f"{alias} already pointed at {version.version}.")
    return redirect(artifact.get_absolute_url())


@login_required
@require_POST
def artifact_tag(
    request: HttpRequest, slug: str, project: str, name: str, action: str
) -> HttpResponse:
    """Add (``action`` "add") or remove ("remove") a tag of one version."""
    access, proj = _project(request, slug, project, need=Role.MEMBER)
    artifact = get_object_or_404(Artifact, project=proj, name=name)
    form = TagForm(request.POST, artifact=artifact, prefix="tag")
    if not form.is_valid():
        return _artifact_page(
            request, access, artifact, AliasForm(artifact=artifact), status=400, tag_form=form
        )
    version, tag = form.cleaned_data["version"], form.cleaned_data["tag"]
    change_tag(request, version, tag, version.version, action)
    return redirect(artifact.get_absolute_url())


def change_tag(request: HttpRequest, obj: TaggedMixin, tag: str, where: str, action: str) -> None:
    """Add (``action`` "add") or remove ``tag`` on ``obj`` and tell the user what
    happened; ``where`` names ``obj`` in the message. Registry pages use it too."""
    if action == "add":
        if obj.add_tag(tag, request.user):
            messages.success(request, f"Tagged {where} {tag}.")
        else:
            messages.info(request, f"{where} was already tagged {tag}.")
    elif obj.remove_tag(tag, request.user):
        messages.success(request, f"Removed tag {tag} from {where}.")
    else:
        messages.info(request, f"{where} had no tag {tag}.")
