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
    assert html.count("data-chart ") == 2  # loss and acc, drawn by static/run-charts.js
    assert 'data-series-url="/t/acme/p/mnist/runs/run-1/series?metric=loss"' in html
    assert "/static/uplot/uPlot.iife.min.js" in html and "/static/run-charts.js" in html
    assert 'class="mono nonfinite"' in html  # loss had a NaN, marked in the table
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
        ("member", 42, "prod", 400, "mnist-cnn has no version or alias “42”"),  # unknown
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


def test_a_member_tags_a_version_and_removes_the_tag(
    filled: Filled, member: User, viewer: User, client_for: Clients
) -> None:
    client = client_for(member)
    page = client.get(artifact_url(filled)).content.decode()
    assert "Add a tag" in page

    added = client.post(
        artifact_url(filled) + "tags/add/", {"tag-version": 1, "tag-tag": "validated"}, follow=True
    )
    assert "Tagged v1 validated." in added.content.decode()
    filled.v1.refresh_from_db()
    assert filled.v1.tags == ["validated"]
    html = client_for(viewer).get(artifact_url(filled)).content.decode()
    assert '<span class="tag">validated</span>' in html
    assert "Add a tag" not in html and "Remove tag" not in html  # viewers read only

    removed = client.post(
        artifact_url(filled) + "tags/remove/", {"tag-version": 1, "tag-tag": "validated"},
        follow=True,
    )
    assert "Removed tag validated from v1." in removed.content.decode()
    filled.v1.refresh_from_db()
    assert filled.v1.tags == []
    assert [e.type for e in Event.objects.filter(type__endswith="_TAG").order_by("pk")] == [
        "ADD_ARTIFACT_TAG", "REMOVE_ARTIFACT_TAG",
    ]


@pytest.mark.parametrize(
    ("persona", "tag", "status"),
    [("member", "no spaces", 400), ("viewer", "ok", 403), ("outsider", "ok", 404)],
)
def test_tagging_is_refused(
    filled: Filled, client_for: Clients, request: pytest.FixtureRequest,
    persona: str, tag: str, status: int,
) -> None:
    response = client_for(request.getfixturevalue(persona)).post(
        artifact_url(filled) + "tags/add/", {"tag-version": 1, "tag-tag": tag}
    )
    assert response.status_code == status
    filled.v1.refresh_from_db()
    assert filled.v1.tags == []
