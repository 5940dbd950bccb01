"""The access matrix: every endpoint of these sections × no key, outsider, viewer,
member and admin. Viewers read, members write data, admins manage; another
team's objects answer 404; no key answers 401."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from projects.models import Artifact, Run
from teams.models import Integration, Secret

READ, WRITE, MANAGE = "viewer", "member", "admin"
RANK = {"viewer": 0, "member": 1, "admin": 2}
P = "/teams/acme/projects/mnist"
R = "/teams/acme/registries/model"

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("get", "/teams/acme/projects", None, READ, 200),
    ("get", P, None, READ, 200),
    ("get", f"{P}/runs", None, READ, 200),
    ("get", f"{P}/runs/r1", None, READ, 200),
    ("get", f"{P}/runs/r1/history", None, READ, 200),
    ("get", f"{P}/runs/r1/series?metric=l", None, READ, 200),
    ("get", f"{P}/artifacts", None, READ, 200),
    ("get", f"{P}/artifacts/my-model", None, READ, 200),
    ("get", f"{P}/artifacts/my-model/versions/latest", None, READ, 200),
    ("get", "/teams/acme/registries", None, READ, 200),
    ("get", R, None, READ, 200),
    ("get", f"{R}/collections/clf", None, READ, 200),
    ("post", f"{P}/runs", {"display_name": "new"}, WRITE, 201),
    ("post", "/teams/acme/projects/fresh/runs", {}, WRITE, 201),
    ("patch", f"{P}/runs/r1", {"state": "finished"}, WRITE, 200),
    ("post", f"{P}/runs/r1/history", {"rows": [{"step": 1, "metrics": {"l": 1}}]}, WRITE, 202),
    ("post", f"{P}/artifacts", {"name": "my-model", "type": "model", "digest": "new"}, WRITE, 201),
    ("post", f"{P}/artifacts/my-model/versions/v0/aliases", {"alias": "prod"}, WRITE, 200),
    ("post", f"{R}/collections/clf/links", {"artifact": "mnist/my-model:v0"}, WRITE, 201),
    ("post", f"{R}/collections/clf/versions/v0/aliases", {"alias": "prod"}, WRITE, 200),
    ("post", "/teams/acme/registries", {"name": "dataset"}, MANAGE, 201),
    ("get", "/teams/acme/secrets", None, MANAGE, 200),
    ("put", "/teams/acme/secrets/NEW_ONE", {"value": "v"}, MANAGE, 201),
    ("put", "/teams/acme/secrets/SPARE", {"value": "v2"}, MANAGE, 200),
    ("delete", "/teams/acme/secrets/SPARE", None, MANAGE, 204),
    ("get", "/teams/acme/integrations", None, MANAGE, 200),
    (
        "post",
        "/teams/acme/integrations",
        {"kind": "webhook", "name": "new", "url": "https://example.com/h"},
        MANAGE,
        201,
    ),
    ("get", "/teams/acme/integrations/deploy", None, MANAGE, 200),
    ("patch", "/teams/acme/integrations/deploy", {"url": "https://example.org/h"}, MANAGE, 200),
    ("delete", "/teams/acme/integrations/deploy", None, MANAGE, 204),
]


@pytest.fixture
def world(project: Any, registry: Any, member: Any, team: Any) -> None:
    run = Run.start(project, author=member, run_id="r1")
    run.log_history([(0, {"l": 0.5})], member)
    version, _ = Artifact.log_version(
        project, name="my-model", type="model", digest="d0", aliases=["latest"], author=member
    )
    registry.link("clf", version, aliases=[], author=member)
    Secret.objects.create(team=team, name="SPARE", value="spare-value")
    Integration.objects.create(team=team, kind="webhook", name="deploy", url="https://e.com/h")


@pytest.mark.parametrize(
    ("method", "path", "body", "need", "ok"),
    ENDPOINTS,
    ids=[f"{m.upper()} {p}" for m, p, *_ in ENDPOINTS],
)
def test_access_matrix(
    world: Any,
    api_for: Any,
    admin: Any,
    member: Any,
    viewer: Any,
    outsider: Any,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    need: str,
    ok: int,
) -> None:
    personas = {"anonymous": None, "outsider": outsider, "viewer": viewer, "member": member,
                "admin": admin}
    for name, user in personas.items():
        client = api_for(user)
        if name == "anonymous":
            expected = 401
        elif name == "outsider":
            expected = 404
        else:
            expected = ok if RANK[name] >= RANK[need] else 403
        # Each persona acts on the same world: undo whatever the call changed.
        with transaction.atomic():
            call = getattr(client, method)
            response = call(path, json=body) if method != "get" and body is not None else call(path)
            transaction.set_rollback(True)
        assert response.status_code == expected, (name, response.content)
        if expected >= 400:
            assert set(response.json()["error"]) == {"code", "message", "fields"}
