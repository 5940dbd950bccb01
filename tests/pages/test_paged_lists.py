"""Pages with lists show one page of them, with links to the others."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects.bulk import seed_runs
from projects.models import Artifact, ArtifactVersion, Project
from registries.models import Registry
from teams.models import Membership, Team


def test_project_page_pages_runs_and_artifacts(
    client_for: Any, admin: User, project: Project
) -> None:
    seed_runs(project, 30, author=admin)
    for a in range(30):
        Artifact.log_version(project, name=f"data-{a:02d}", type="dataset", digest="d",
                             metadata={}, aliases=[], author=admin)
    browser = client_for(admin)
    url = reverse("project_detail", args=["acme", project.name])
    html = browser.get(url).content.decode()
    assert html.count('href="/t/acme/p/mnist/artifacts/data-') == 25
    assert "?artifacts_page=2" in html and "?page=2" in html
    second = browser.get(url + "?artifacts_page=2&page=2").content.decode()
    assert second.count('href="/t/acme/p/mnist/artifacts/data-') == 5
    assert "data-29" in second and "data-00" not in second
    assert second.count("/runs/run-") == 5  # runs 4…0, the oldest
    assert "run-00000" in second and "run-00005" not in second


@pytest.fixture
def version(admin: User, project: Project) -> ArtifactVersion:
    """A model version to link into the registry."""
    version, _ = Artifact.log_version(project, name="m", type="model", digest="d",
                                      metadata={}, aliases=[], author=admin)
    return version


def test_registry_page_pages_collections_and_shows_the_newest_versions(
    client_for: Any, admin: User, registry: Registry, version: ArtifactVersion
) -> None:
    for c in range(22):
        registry.link(f"col-{c:02d}", version, aliases=[], author=admin)
    for _ in range(24):
        registry.link("col-00", version, aliases=[], author=admin)
    browser = client_for(admin)
    url = reverse("registry_detail", args=["acme", registry.name])
    html = browser.get(url).content.decode()
    assert html.count('id="collection-col-') == 20
    assert "25 versions, newest 20 shown" in html
    assert "Page 1 of 2" in html
    second = browser.get(url + "?page=2").content.decode()
    assert second.count('id="collection-col-') == 2 and "col-21" in second


def test_team_settings_page_members(
    client_for: Any, admin: User, team: Team, make_user: Any
) -> None:
    for i in range(55):
        Membership.objects.create(team=team, user=make_user(f"user{i:02d}"), role="viewer")
    browser = client_for(admin)
    html = browser.get(reverse("team_settings", args=["acme"])).content.decode()
    assert "Page 1 of 2" in html
    second = browser.get(reverse("team_settings", args=["acme"]) + "?page=2").content.decode()
    assert "user54" in second and "user00" not in second


def test_registry_page_queries_do_not_grow_with_collections_or_versions(
    client_for: Any, admin: User, registry: Registry, version: ArtifactVersion
) -> None:
    browser = client_for(admin)
    url = reverse("registry_detail", args=["acme", registry.name])

    def count() -> int:
        browser.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured.captured_queries)

    registry.link("first", version, aliases=["prod"], author=admin)
    few = count()
    for c in range(30):
        registry.link(f"col-{c:02d}", version, aliases=["prod"], author=admin)
        registry.link(f"col-{c:02d}", version, aliases=[], author=admin)
    assert count() == few
