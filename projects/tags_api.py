"""Tags of artifact versions over the API (members write): add and remove.

Adding a tag that is there, or removing one that is not, changes nothing and emits
no event. Registry tags (linked versions, collections) live in ``registries.api``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from projects.api import _artifact, _project, _version, version_out
from projects.schemas import TagIn, check_tag
from teams.access import Role, get_team

router = Router(tags=["projects"])

VERSION_PATH = "/{team}/projects/{project}/artifacts/{artifact}/versions/{version}"


@router.post(VERSION_PATH + "/tags", summary="Add a tag to an artifact version")
def add_version_tag(
    request: HttpRequest, team: str, project: str, artifact: str, version: str, payload: TagIn
) -> dict[str, Any]:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _version(_artifact(_project(access.team, project), artifact), version)
    obj.add_tag(payload.tag, request.user)
    return version_out(obj)


@router.delete(
    VERSION_PATH + "/tags/{tag}",
    response={204: None},
    summary="Remove a tag from an artifact version",
)
def remove_version_tag(
    request: HttpRequest, team: str, project: str, artifact: str, version: str, tag: str
) -> Status:
    access = get_team(request.user, team, need=Role.MEMBER)
    obj = _version(_artifact(_project(access.team, project), artifact), version)
    check_tag(tag)
    obj.remove_tag(tag, request.user)
    return Status(204, None)
