"""Regressions found by driving the running server over HTTP like the checker.

Every answer under /api/v1/ has the error shape — also for unknown paths and
methods — NUL characters (which PostgreSQL cannot store) answer 400, and the
interactive docs load without a CDN."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from projects.models import Run
from tests.support.api import assert_error


def test_wrong_method_answers_405_with_the_error_shape(admin_api: Any, team: Any) -> None:
    response = admin_api.get(f"/teams/{team.slug}/secrets/TOKEN")

    assert_error(response, 405, "method_not_allowed")
    assert "PUT" in response["Allow"]


def test_unknown_api_path_answers_404_with_the_error_shape(admin_api: Any, team: Any) -> None:
    assert_error(admin_api.get(f"/teams/{team.slug}/nope"), 404, "not_found")
    assert_error(admin_api.post("/nope", json={}), 404, "not_found")


def test_pages_keep_their_html_404(admin: Any, client: Client) -> None:
    client.force_login(admin)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_nul_character_in_a_string_is_a_400(member_api: Any, project: Any, team: Any) -> None:
    runs = f"/teams/{team.slug}/projects/{project.name}/runs"

    display = member_api.post(runs, json={"display_name": "a\u0000b"})
    config = member_api.post(runs, json={"config": {"k": ["x\u0000"]}})
    key = member_api.post(runs, json={"config": {"k\u0000": 1}})

    for response in (display, config, key):
        error = assert_error(response, 400, "invalid")
        assert error["fields"] == {"body": ["Text must not contain NUL (\\u0000) characters."]}
    assert not Run.objects.exists()


def test_nul_character_in_a_metric_name_is_a_400(
    member_api: Any, project: Any, team: Any
) -> None:
    member_api.post(f"/teams/{team.slug}/projects/{project.name}/runs", json={"id": "r1"})
    rows = {"rows": [{"step": 0, "metrics": {"lo\u0000ss": 1.0}}]}

    response = member_api.post(
        f"/teams/{team.slug}/projects/{project.name}/runs/r1/history", json=rows
    )

    assert_error(response, 400, "invalid")
    assert Run.objects.get(run_id="r1").last_step is None


def test_an_escaped_backslash_before_u0000_is_ordinary_text(
    member_api: Any, project: Any, team: Any
) -> None:
    body = json.dumps({"display_name": "C:\\u0000dir"})  # the text \u0000, no NUL
    assert "\\\\u0000" in body

    response = member_api.post(
        f"/teams/{team.slug}/projects/{project.name}/runs",
        data=body,
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["display_name"] == "C:\\u0000dir"


def test_api_docs_load_their_assets_from_beacon_not_a_cdn(client: Client, db: Any) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html and "https://" not in html.split("<body")[0]
    assert "swagger-ui-bundle.js" in html


def test_nul_character_in_the_path_or_query_is_a_400(admin_api: Any, team: Any) -> None:
    for path in (
        f"/teams/{team.slug}/events?type=%00",
        f"/teams/{team.slug}/automations?scope=project:a%00b",
        "/teams/a%00b/projects",
    ):
        error = assert_error(admin_api.get(path), 400, "invalid")
        assert list(error["fields"]) == ["url"]
