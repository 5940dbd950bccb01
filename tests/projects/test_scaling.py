"""Pages and API lists of a project cost the same number of queries at 10 runs as at
300: nothing is read per run beyond the page shown, nothing per point beyond the
page asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.bulk import seed_runs
from projects.models import Artifact, Project, Run
from teams.models import Team

MAX_QUERIES = 20


@pytest.fixture
def projects(team: Team, admin: User) -> dict[int, Project]:
    made = {}
    for n in (10, 300):
        project = Project.objects.create(team=team, name=f"p{n}")
        seed_runs(project, n, points=30, metrics=5, author=admin)
        for a in range(3):  # artifacts with versions and an alias each
            Artifact.log_version(
                project, name=f"data-{a}", type="dataset", digest=f"d{a}", metadata={},
                aliases=["latest"], author=admin,
            )
        made[n] = project
    return made


def queries(call: Callable[[], Any]) -> int:
    call()  # warm: caches of the first request (content types, sessions) are not the point
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content[:300]
    return len(captured.captured_queries)


def test_project_page_costs_the_same_at_10_and_300_runs(
    projects: dict[int, Project], client_for: Any, admin: User,
    django_assert_max_num_queries: Any,
) -> None:
    browser = client_for(admin)
    counts = {
        n: queries(lambda p=p: browser.get(reverse("project_detail", args=["acme", p.name])))
        for n, p in projects.items()
    }
    assert counts[10] == counts[300], counts
    with django_assert_max_num_queries(MAX_QUERIES):
        page = browser.get(reverse("project_detail", args=["acme", "p300"]))
    html = page.content.decode()
    assert html.count("/runs/run-") == 25  # one page of runs, newest first
    assert "run-00299" in html and "run-00274" not in html
    assert "Page 1 of 12" in html


def test_runs_list_api_costs_the_same_at_10_and_300_runs(
    projects: dict[int, Project], admin_api: Any, django_assert_max_num_queries: Any,
) -> None:
    counts = {
        n: queries(lambda p=p: admin_api.get(f"/teams/acme/projects/{p.name}/runs"))
        for n, p in projects.items()
    }
    assert counts[10] == counts[300], counts
    with django_assert_max_num_queries(MAX_QUERIES):
        answer = admin_api.get("/teams/acme/projects/p300/runs")
    assert len(answer.json()) == 50
    assert 'rel="next"' in answer["Link"]


def test_history_api_costs_the_same_at_10_and_300_runs(
    projects: dict[int, Project], admin_api: Any, django_assert_max_num_queries: Any,
) -> None:
    path = "/teams/acme/projects/{}/runs/run-00005/history"
    counts = {
        n: queries(lambda p=p: admin_api.get(path.format(p.name))) for n, p in projects.items()
    }
    assert counts[10] == counts[300], counts
    with django_assert_max_num_queries(MAX_QUERIES):
        answer = admin_api.get("/teams/acme/projects/p300/runs/run-00005/history")
    assert sorted(answer.json()["metrics"]) == [f"metric_{k}" for k in range(5)]


@pytest.mark.parametrize("page", ["run_detail", "project_artifacts", "team_home"])
def test_other_pages_cost_the_same_at_10_and_300_runs(
    projects: dict[int, Project], client_for: Any, admin: User, page: str,
) -> None:
    browser = client_for(admin)

    def url(p: Project) -> str:
        if page == "run_detail":
            return reverse(page, args=["acme", p.name, "run-00005"])
        if page == "team_home":
            return reverse(page, args=["acme"])
        return reverse(page, args=["acme", p.name])

    counts = {n: queries(lambda p=p: browser.get(url(p))) for n, p in projects.items()}
    assert counts[10] == counts[300], counts
    assert counts[300] <= MAX_QUERIES


def test_artifacts_list_api_costs_the_same_for_3_and_30_artifacts(
    projects: dict[int, Project], admin_api: Any, admin: User,
) -> None:
    before = queries(lambda: admin_api.get("/teams/acme/projects/p10/artifacts"))
    for a in range(3, 30):
        Artifact.log_version(projects[10], name=f"data-{a}", type="dataset", digest="x",
                             metadata={}, aliases=["latest", "best"], author=admin)
    assert queries(lambda: admin_api.get("/teams/acme/projects/p10/artifacts")) == before


@pytest.mark.parametrize("run_id", ["run-1", "a.b_c-9", "0abc", "x y%z"])
def test_a_runs_url_is_what_reverse_gives(team: Team, run_id: str) -> None:
    project = Project.objects.create(team=team, name="my.proj-1")
    run = Run(project=project, run_id=run_id)
    assert run.get_absolute_url() == reverse("run_detail", args=["acme", "my.proj-1", run_id])
    assert project.get_absolute_url() == reverse("project_detail", args=["acme", "my.proj-1"])
    project.name = "renamed"
    assert project.get_absolute_url() == reverse("project_detail", args=["acme", "renamed"])
