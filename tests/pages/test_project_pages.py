"""Project, run and artifact pages; adding an alias from the artifact page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from automations.models import Event
from projects.models import ArtifactAlias
from tests.pages.conftest import Filled
from tests.support.web import Clients


def artifact_url(f: Filled) -> str:
    return f"/t/acme/p/mnist/artifacts/{f.artifact.name}/"


def test_project_page_lists_runs_with_state_and_summary_and_artifacts(
    filled: Filled, viewer: User, client_for: Clients
) -> None:
    html = client_for(viewer).get("/t/acme/p/mnist/").content.decode()
    assert "baseline" in html and "badge-running" in html
    assert "alice" in html  # the author
    assert "0.8" in html  # acc's last value in the summary
    assert "mnist-cnn" in html
    assert "/t/acme/p/mnist/automations/" in html  # the tab bar


def test_run_page_shows_config_tags_and_a_chart_per_metric(
    filled: Filled, viewer: User, client_for: Clients
) -> None:
    html = client_for(viewer).get("/t/acme/p/mnist/runs/run-1/").content.decode()
    assert html.count('class="linechart"') == 2  # loss and acc
    assert 'class="nonfinite"' in html  # loss had a NaN
    assert "NaN" in html  # in the last-values table
    assert "lr" in html and "cnn" in html


def test_artifact_page_shows_versions_newest_first_with_aliases(
    filled: Filled, viewer: User, client_for: Clients
) -> None:
    html = client_for(viewer).get(artifact_url(filled)).content.decode()
    assert html.index('id="v1"') < html.index('id="v0"')
    assert '<span class="alias">latest</span>' in html
    assert "Add an alias" not in html  # viewers read only


def test_a_member_adds_an_alias_and_it_moves(
    filled: Filled, member: User, client_for: Clients
) -> None:
    client = client_for(member)
    response = client.post(
        artifact_url(filled) + "aliases/", {"version": 1, "alias": "latest"}, follow=True
    )
    assert response.status_code == 200
    assert ArtifactAlias.objects.get(artifact=filled.artifact, alias="latest").version == filled.v1
    assert "latest now points at v1." in response.content.decode()
    assert Event.objects.filter(type="ADD_ARTIFACT_ALIAS", author=member).exists()


@pytest.mark.parametrize(
    ("persona", "version", "alias", "status", "says"),
    [
        ("member", 0, "v7", 400, "looks like a version"),  # an inline form error
        ("member", 42, "prod", 400, "Select a valid choice"),  # an unknown version
        ("viewer", 1, "prod", 403, None),  # viewers read only
        ("outsider", 1, "prod", 404, None),  # another team's people see nothing
    ],
)
def test_adding_an_alias_is_refused(
    filled: Filled, client_for: Clients, request: pytest.FixtureRequest,
    persona: str, version: int, alias: str, status: int, says: str | None,
) -> None:
    response = client_for(request.getfixturevalue(persona)).post(
        artifact_url(filled) + "aliases/", {"version": version, "alias": alias}
    )
    assert response.status_code == status
    if says is not None:
        assert says in response.content.decode()
    assert not ArtifactAlias.objects.filter(alias=alias).exists()
