"""API conventions: auth, the error shape, health, viewer, bad bodies."""

from __future__ import annotations

import json
from typing import Any

from teams.models import ApiKey
from tests.support.api import assert_error


def test_health_needs_no_key_and_reports_the_queue(api_for: Any) -> None:
    response = api_for(None).get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert isinstance(body["queue"]["pending"], int)


def test_viewer_names_the_user_and_their_teams(admin_api: Any, other_team: Any, admin: Any) -> None:
    other_team.memberships.create(user=admin, role="viewer")

    response = admin_api.get("/viewer")

    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "teams": [{"slug": "acme", "role": "admin"}, {"slug": "globex", "role": "viewer"}],
    }


def test_no_key_bad_key_and_revoked_key_answer_401(api_for: Any, admin: Any) -> None:
    assert_error(api_for(None).get("/viewer"), 401, "unauthorized")
    bad = api_for(None)
    bad.headers = {"Authorization": "Bearer bk_not-a-key"}
    assert_error(bad.get("/teams/acme/projects"), 401, "unauthorized")

    key, plaintext = ApiKey.issue(admin, "ci")
    revoked = api_for(None)
    revoked.headers = {"Authorization": f"Bearer {plaintext}"}
    assert revoked.get("/viewer").status_code == 200
    key.revoke()
    assert_error(revoked.get("/viewer"), 401, "unauthorized")


def test_malformed_json_is_400_with_the_error_shape(member_api: Any, project: Any) -> None:
    response = member_api.post(
        "/teams/acme/projects/mnist/runs", data="{not json", content_type="application/json"
    )

    assert_error(response, 400, "invalid")


def test_bare_nan_and_huge_numbers_are_not_json(member_api: Any, project: Any) -> None:
    for raw in ('{"config": {"lr": NaN}}', '{"config": {"lr": 1e999}}'):
        response = member_api.post(
            "/teams/acme/projects/mnist/runs", data=raw, content_type="application/json"
        )
        assert_error(response, 400, "invalid")
    assert project.runs.count() == 0


def test_wrong_types_and_missing_fields_name_the_field(member_api: Any, project: Any) -> None:
    error = assert_error(
        member_api.post("/teams/acme/projects/mnist/artifacts", json={"name": "m", "type": 3}),
        400,
        "invalid",
    )
    assert "type" in error["fields"]
    assert "digest" in error["fields"]

    error = assert_error(member_api.post("/teams/acme/projects/mnist/runs", json=[1, 2]), 400,
                         "invalid")
    assert error["fields"]


def test_a_body_over_the_upload_limit_is_413(
    member_api: Any, project: Any, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"config": {"blob": "x" * 2000}}

    response = member_api.post("/teams/acme/projects/mnist/runs", json=body)

    assert_error(response, 413, "too_large")
    assert project.runs.count() == 0


def test_malformed_names_in_paths_are_400_with_fields(member_api: Any, project: Any) -> None:
    error = assert_error(member_api.get("/teams/acme/projects/-bad!/runs"), 400, "invalid")
    assert list(error["fields"]) == ["project"]

    error = assert_error(
        member_api.post("/teams/acme/projects/mnist/runs", json={"id": "has space"}), 400,
        "invalid",
    )
    assert list(error["fields"]) == ["id"]


def test_unknown_objects_are_404_with_the_error_shape(viewer_api: Any, project: Any) -> None:
    assert_error(viewer_api.get("/teams/acme/projects/nope/runs"), 404, "not_found")
    assert_error(viewer_api.get("/teams/acme/projects/mnist/runs/nope"), 404, "not_found")
    assert_error(viewer_api.get("/teams/nope/projects"), 404, "not_found")


def test_openapi_document_lists_the_contract_paths(api_for: Any) -> None:
    response = api_for(None).get("/openapi.json")

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for path in (
        "/api/v1/teams/{team}/projects/{project}/runs",
        "/api/v1/teams/{team}/projects/{project}/runs/{run}/history",
        "/api/v1/teams/{team}/projects/{project}/artifacts",
        "/api/v1/teams/{team}/projects/{project}/artifacts/{artifact}/versions/{version}/aliases",
        "/api/v1/teams/{team}/registries",
        "/api/v1/teams/{team}/registries/{registry}/collections/{collection}/links",
        "/api/v1/teams/{team}/secrets/{name}",
        "/api/v1/teams/{team}/integrations/{name}",
    ):
        assert path in paths, path
