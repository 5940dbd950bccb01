"""Run and model files: ``/api/2.0/mlflow-artifacts/artifacts/<path>``.

The client addresses files under the ``artifact_uri`` Beacon gave it:
``<experiment id>/<run id>/artifacts/<file>`` for a run and
``<experiment id>/models/<model id>/artifacts/<file>`` for a logged model.
Both must belong to the caller's team; the files live in ``projects.files``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponseBase

from mlflow_api.calls import Call
from mlflow_api.errors import invalid, not_found
from mlflow_api.mapping import project_by_id
from mlflow_api.models import LoggedModel
from projects import files
from projects.models import Project


@dataclass(frozen=True)
class Location:
    project: Project
    folder: Path
    rel: str


def locate(call: Call, path: str) -> Location:
    try:
        parts = files.clean_path(path).split("/")
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if len(parts) >= 4 and parts[1] == "models" and parts[3] == "artifacts":
        project = project_by_id(call.team, parts[0])
        model = LoggedModel.objects.filter(project=project, model_id=parts[2]).first()
        if model is None:
            raise not_found(f"Logged model '{parts[2]}' not found.")
        folder = files.model_folder(project, model.model_id)
        return Location(project, folder, "/".join(parts[4:]))
    if len(parts) >= 3 and parts[2] == "artifacts":
        project = project_by_id(call.team, parts[0])
        run = project.runs.select_related("project__team").filter(run_id=parts[1]).first()
        if run is None:
            raise not_found(f"Run '{parts[1]}' not found.")
        return Location(project, files.run_folder(run), "/".join(parts[3:]))
    raise not_found(
        f"No artifact location {path!r}: use <experiment>/<run>/artifacts/<path>."
    )


def upload(call: Call, request: HttpRequest, path: str) -> dict[str, object]:
    call.need_write()
    where = locate(call, path)
    try:
        files.save(where.folder, where.rel, request)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return {}


def download(call: Call, path: str) -> HttpResponseBase:
    where = locate(call, path)
    handle = files.open_file(where.folder, where.rel)
    if handle is None:
        raise not_found(f"No file {path!r}.")
    return FileResponse(handle, content_type="application/octet-stream")


def listing(call: Call, path: str) -> dict[str, object]:
    if not path.strip("/"):
        return {"files": []}
    where = locate(call, path)
    entries = files.listing(where.folder, where.rel)
    return {
        "files": [
            {"path": e.path, "is_dir": e.is_dir}
            if e.is_dir else {"path": e.path, "is_dir": False, "file_size": e.size}
            for e in entries
        ]
    }


def delete(call: Call, path: str) -> dict[str, object]:
    call.need_write()
    where = locate(call, path)
    if not files.delete(where.folder, where.rel):
        raise not_found(f"No file {path!r}.")
    return {}
