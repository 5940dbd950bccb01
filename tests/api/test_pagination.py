"""Every list of the API comes in pages: ``limit`` and ``offset``, the next page in an
RFC 8288 ``Link`` header, the body still the JSON array (or object) it always was."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User

from automations.models import Automation, Event, Scope
from projects.bulk import seed_runs
from projects.models import Artifact, Project, Run
from registries.models import Registry
from teams.models import Integration, Secret, Team


def next_link(response: Any) -> str | None:
    """The ``rel="next"`` target as a path the test client can get (``/teams/…``)."""
    header = response.headers.get("Link")
    if header is None:
        return None
    match = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert match, header
    url = urlsplit(match.group(1))
    assert url.scheme in ("http", "https") and url.netloc  # absolute, from BEACON_BASE_URL
    assert url.path.startswith("/api/v1/")
    return url.path.removeprefix("/api/v1") + "?" + url.query


def walk(api: Any, path: str, items: Callable[[Any], list[Any]] = lambda body: body) -> list[Any]:
    """Every item of a list, following ``Link`` from page to page."""
    seen: list[Any] = []
    url: str | None = path
    while url is not None:
        answer = api.get(url)
        assert answer.status_code == 200, answer.content[:300]
        seen.extend(items(answer.json()))
        url = next_link(answer)
    return seen


def test_small_lists_answer_as_before_with_no_link(admin_api: Any, project: Project,
                                                   admin: User) -> None:
    seed_runs(project, 3, author=admin)
    answer = admin_api.get("/teams/acme/projects/mnist/runs")
    assert isinstance(answer.json(), list) and len(answer.json()) == 3
    assert "Link" not in answer.headers


def test_runs_come_in_pages_newest_first_each_once(
    admin_api: Any, project: Project, admin: User
) -> None:
    seed_runs(project, 7, author=admin)
    Run.objects.filter(project=project).update(created_at=Run.objects.first().created_at)
    first = admin_api.get("/teams/acme/projects/mnist/runs?limit=3")
    assert len(first.json()) == 3
    link = next_link(first)
    assert link is not None and "offset=3" in link and "limit=3" in link
    ids = [r["id"] for r in walk(admin_api, "/teams/acme/projects/mnist/runs?limit=3")]
    # Same created_at for all: the id breaks the tie, so pages never repeat or skip one.
    assert ids == [f"run-{i:05d}" for i in reversed(range(7))]
    assert len(admin_api.get("/teams/acme/projects/mnist/runs?limit=3&offset=6").json()) == 1
    assert admin_api.get("/teams/acme/projects/mnist/runs?offset=99").json() == []


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"),
    ("offset=-1", "offset"), ("offset=x", "offset"), ("limit=" + "9" * 40, "limit"),
])
def test_bad_page_parameters_are_a_400_naming_the_field(
    admin_api: Any, project: Project, query: str, field: str
) -> None:
    answer = admin_api.get(f"/teams/acme/projects/mnist/runs?{query}")
    assert answer.status_code == 400
    assert field in answer.json()["error"]["fields"]


def test_a_huge_offset_is_an_empty_page(admin_api: Any, project: Project, admin: User) -> None:
    seed_runs(project, 2, author=admin)
    assert admin_api.get(f"/teams/acme/projects/mnist/runs?offset={2**63}").json() == []


def test_history_pages_by_step_never_splitting_one(
    admin_api: Any, project: Project, admin: User
) -> None:
    seed_runs(project, 1, points=20, metrics=3, author=admin)
    path = "/teams/acme/projects/mnist/runs/run-00000/history"
    whole = admin_api.get(path).json()["metrics"]
    assert "Link" not in admin_api.get(path).headers
    assert [len(v) for v in whole.values()] == [20, 20, 20]

    first = admin_api.get(path + "?limit=10")  # 3 metrics a step: steps 0-2, not 3's first
    assert {k: [p["step"] for p in v] for k, v in first.json()["metrics"].items()} == {
        f"metric_{k}": [0, 1, 2] for k in range(3)
    }
    assert "after_step=2" in next_link(first)

    pages: dict[str, list[Any]] = {}
    for chunk in walk(admin_api, path + "?limit=10", lambda body: [body["metrics"]]):
        for key, points in chunk.items():
            pages.setdefault(key, []).extend(points)
    assert pages == whole

    after = admin_api.get(path + "?after_step=17&metric=metric_1").json()
    assert after == {"metrics": {"metric_1": [p for p in whole["metric_1"] if p["step"] > 17]}}
    # One step holding more points than the page: that step is the page, whole.
    assert len(admin_api.get(path + "?limit=2").json()["metrics"]) == 3
    assert "after_step=0" in next_link(admin_api.get(path + "?limit=2"))
    assert next_link(admin_api.get(path + "?limit=2&after_step=18")) is None
    assert admin_api.get(path + "?after_step=1.5").status_code == 400
    assert admin_api.get(path + "?limit=100001").status_code == 400


def test_every_list_of_the_api_pages(
    admin_api: Any, team: Team, project: Project, registry: Registry, admin: User
) -> None:
    for i in range(3):
        Project.objects.create(team=team, name=f"extra-{i}")
        Secret.objects.create(team=team, name=f"S_{i}", value=f"value-{i}-secret")
        hook = Integration.objects.create(team=team, kind="webhook", name=f"hook-{i}",
                                          url="https://hooks.example.com/x")
        Automation.objects.create(
            team=team, name=f"auto-{i}", scope_type=Scope.PROJECT, project=project,
            event_type="RUN_STATE", filter={"states": ["failed"]}, action_type="WEBHOOK",
            integration=hook,
        )
        Event.objects.create(team=team, type="RUN_STATE", scope_type=Scope.PROJECT,
                             project=project, subject=f"acme/mnist/run-{i}", data={})
        Registry.objects.create(team=team, name=f"reg-{i}")
        version, _ = Artifact.log_version(project, name=f"data-{i}", type="dataset",
                                          digest="same" if i else "first", metadata={},
                                          aliases=[], author=admin)
        Artifact.log_version(project, name="data-0", type="dataset", digest=f"d{i}",
                             metadata={}, aliases=[], author=admin)
        registry.link("model", version, aliases=[], author=admin)
        registry.link(f"col-{i}", version, aliases=[], author=admin)

    lists = {
        "/teams/acme/projects": 4,
        "/teams/acme/projects/mnist/artifacts": 3,
        "/teams/acme/secrets": 3,
        "/teams/acme/integrations": 3,
        "/teams/acme/automations": 3,
        "/teams/acme/automations?scope=project:mnist": 3,
        "/teams/acme/events?type=RUN_STATE": 3,
        "/teams/acme/events": Event.objects.filter(team=team).count(),
        "/teams/acme/registries": 4,
    }
    for path, count in lists.items():
        sep = "&" if "?" in path else "?"
        assert len(admin_api.get(path).json()) == count, path
        assert "Link" not in admin_api.get(path).headers, path
        paged = walk(admin_api, f"{path}{sep}limit=2")
        assert paged == admin_api.get(path).json(), path
    automation = Automation.objects.get(name="auto-0")
    assert len(walk(admin_api, f"/teams/acme/automations/{automation.pk}/executions?limit=1")) \
        == len(admin_api.get(f"/teams/acme/automations/{automation.pk}/executions").json())
    assert next_link(admin_api.get("/teams/acme/automations?scope=project:mnist&limit=2")) \
        .count("scope=project%3Amnist") == 1

    nested = {
        "/teams/acme/projects/mnist/artifacts/data-0": ("versions", 4),
        f"/teams/acme/registries/{registry.name}": ("collections", 4),
        f"/teams/acme/registries/{registry.name}/collections/model": ("versions", 3),
    }
    for path, (field, count) in nested.items():
        whole = admin_api.get(path).json()[field]
        assert len(whole) == count, path
        assert walk(admin_api, path + "?limit=1", lambda body, f=field: body[f]) == whole


def test_a_run_in_the_list_is_the_run_on_its_own(
    admin_api: Any, member_api: Any, project: Project, admin: User
) -> None:
    made = member_api.post("/teams/acme/projects/mnist/runs",
                           json={"id": "r.1", "display_name": "first", "config": {"lr": 0.1},
                                 "tags": ["a"]})
    assert made.status_code == 201
    assert member_api.post("/teams/acme/projects/mnist/runs/r.1/history",
                    json={"rows": [{"step": 0, "metrics": {"loss": 0.5}}]}).status_code == 202
    seed_runs(project, 2, author=None)
    listed = {r["id"]: r for r in admin_api.get("/teams/acme/projects/mnist/runs").json()}
    for run_id in ("r.1", "run-00000"):
        assert listed[run_id] == admin_api.get(f"/teams/acme/projects/mnist/runs/{run_id}").json()
