"""How MLflow's objects map onto Beacon's (the table in README.md).

experiment → project · run → run (same id) · params → config · tags → tags ·
metrics → metric history · logged model → ``model`` artifact version ·
registered model → collection · model version → linked version."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from mlflow_api.errors import invalid, not_found
from mlflow_api.models import Experiment, RunRecord
from projects.models import Project, Run
from teams.models import Team

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
_NAME_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_BAD_CHARS = re.compile(r"[^A-Za-z0-9._-]+")

STATE_TO_STATUS = {
    Run.State.RUNNING: "RUNNING",
    Run.State.FINISHED: "FINISHED",
    Run.State.FAILED: "FAILED",
    Run.State.CRASHED: "FAILED",
    Run.State.KILLED: "KILLED",
}
STATUS_TO_STATE = {
    "RUNNING": Run.State.RUNNING,
    "SCHEDULED": Run.State.RUNNING,
    "FINISHED": Run.State.FINISHED,
    "FAILED": Run.State.FAILED,
    "KILLED": Run.State.KILLED,
}


def valid_name(name: str, fallback: str = "mlflow") -> str:
    """A Beacon name (1–128 letters, digits, '.', '_', '-') as close to ``name`` as can be."""
    cleaned = _BAD_CHARS.sub("-", name).strip("-._")[:128].rstrip("-._")
    return cleaned or fallback


def tag_label(key: str, value: str, *, limit: int = 128) -> str:
    """An MLflow key/value tag as one Beacon tag: ``key:value`` (``key`` when empty)."""
    return (f"{key}:{value}" if value else key)[:limit]


def strict_tag_label(key: str, value: str) -> str:
    """A tag for linked versions, which allow only letters, digits, '.', '_', '-'."""
    return valid_name(f"{key}.{value}" if value else key, fallback="tag")


# --- experiments ----------------------------------------------------------------


def experiment_id(project: Project) -> str:
    return str(project.pk)


def experiment_name(project: Project) -> str:
    record = getattr(project, "mlflow_experiment", None)
    return record.name if record is not None else project.name


def project_by_id(team: Team, value: str, *, create_default: bool = False) -> Project:
    """The project of experiment ``value`` in ``team`` (another team's id: not found)."""
    if value == DEFAULT_EXPERIMENT_ID:
        project = team.projects.filter(name=DEFAULT_EXPERIMENT_NAME).first()
        if project is None and create_default:
            project = create_project(team, DEFAULT_EXPERIMENT_NAME)
        if project is not None:
            return project
    elif value.isdigit() and len(value) < 19:
        project = team.projects.filter(pk=int(value)).first()
        if project is not None:
            return project
    raise not_found(f"No experiment with id={value!r} in this team.")


def project_by_name(team: Team, name: str) -> Project | None:
    record = Experiment.objects.select_related("project").filter(team=team, name=name).first()
    if record is not None:
        return record.project
    return team.projects.filter(name=name, mlflow_experiment__isnull=True).first()


def create_project(team: Team, name: str, tags: dict[str, str] | None = None) -> Project:
    """A new project for experiment ``name``; its own name is ``name`` made valid and unique.

    Raises ``RESOURCE_ALREADY_EXISTS`` when the experiment exists."""
    from mlflow_api.errors import MlflowError

    if project_by_name(team, name) is not None:
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Experiment {name!r} already exists.")
    base = valid_name(name)
    for attempt in range(1, 1000):
        candidate = base if attempt == 1 else f"{base[:120]}-{attempt}"
        if team.projects.filter(name=candidate).exists():
            continue
        try:
            with transaction.atomic():
                project = Project.objects.create(team=team, name=candidate)
                Experiment.objects.create(team=team, project=project, name=name, tags=tags or {})
            return project
        except IntegrityError:  # created concurrently: the experiment, or only the name
            if project_by_name(team, name) is not None:
                raise MlflowError(
                    "RESOURCE_ALREADY_EXISTS", f"Experiment {name!r} already exists."
                ) from None
    raise invalid(f"No free project name for experiment {name!r}.")


def artifact_location(project: Project) -> str:
    return f"mlflow-artifacts:/{experiment_id(project)}"


# --- runs ----------------------------------------------------------------------


def find_run(team: Team, run_id: str, *, lock: bool = False) -> Run:
    """The run ``run_id`` of any project of ``team`` (another team's run: not found)."""
    if not run_id or len(run_id) > 128:
        raise not_found(f"Run '{run_id[:128]}' not found.")
    runs = Run.objects.select_related("project__team", "author").filter(
        project__team=team, run_id=run_id
    ).order_by("-created_at", "-pk")
    run = runs.first()
    if run is None:
        raise not_found(f"Run '{run_id}' not found.")
    if lock:
        locked = Run.objects.select_for_update(of=("self",))
        run = locked.select_related("project__team", "author").get(pk=run.pk)
    return run


def record_of(run: Run, *, create: bool = False) -> RunRecord:
    """The run's MLflow record. A run Beacon's own API started has none: reads get
    an unsaved one, writes (``create``) store it."""
    try:
        return run.mlflow
    except RunRecord.DoesNotExist:
        if not create:
            return RunRecord(run=run, start_time=millis(run.created_at))
        record, _ = RunRecord.objects.get_or_create(
            run=run, defaults={"start_time": millis(run.created_at)}
        )
        return record


def author_for(team: Team, user_tag: str, caller: Any) -> Any:
    """The run's author: the team member named by ``mlflow.user``, else the key's user."""
    if user_tag and user_tag != getattr(caller, "username", None):
        named = get_user_model().objects.filter(
            username=user_tag, memberships__team=team, is_active=True
        ).first()
        if named is not None:
            return named
    return caller


def millis(value: Any) -> int:
    return int(value.timestamp() * 1000)


def run_artifact_uri(run: Run) -> str:
    return f"mlflow-artifacts:/{experiment_id(run.project)}/{run.run_id}/artifacts"


def beacon_tags(tags: dict[str, str]) -> list[str]:
    """The tags a Beacon run shows: MLflow's own ``mlflow.*`` tags stay out."""
    return [tag_label(k, v) for k, v in sorted(tags.items()) if not k.startswith("mlflow.")][:100]
