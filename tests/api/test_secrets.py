"""Secrets over the API: write-only, create/rotate/delete, refused while in use."""

from __future__ import annotations

from typing import Any

from teams.models import Integration, Secret
from tests.support.api import assert_error

PLAINTEXT = "xoxb-super-secret-value-4242"


def test_put_creates_then_rotates_and_never_answers_the_value(admin_api: Any, team: Any) -> None:
    created = admin_api.put("/teams/acme/secrets/SLACK_TOKEN", json={"value": PLAINTEXT})
    rotated = admin_api.put("/teams/acme/secrets/SLACK_TOKEN", json={"value": PLAINTEXT + "2"})
    listing = admin_api.get("/teams/acme/secrets")

    assert created.status_code == 201
    assert rotated.status_code == 200
    assert set(created.json()) == {"name", "created_at", "updated_at"}
    assert rotated.json()["updated_at"] >= created.json()["updated_at"]
    assert [s["name"] for s in listing.json()] == ["SLACK_TOKEN"]
    assert set(listing.json()[0]) == {"name", "created_at", "updated_at"}
    for response in (created, rotated, listing):
        assert PLAINTEXT.encode() not in response.content
    assert Secret.objects.get(team=team).value == PLAINTEXT + "2"


def test_secret_names_and_values_are_validated(admin_api: Any, team: Any) -> None:
    for name in ["lower", "1ABC", "A-B", "A" * 129]:
        error = assert_error(
            admin_api.put(f"/teams/acme/secrets/{name}", json={"value": "v"}), 400, "invalid"
        )
        assert "name" in error["fields"], name
    for body in [{"value": ""}, {"value": "x" * (64 * 1024 + 1)}, {"value": 3}, {}]:
        error = assert_error(admin_api.put("/teams/acme/secrets/TOKEN", json=body), 400,
                             "invalid")
        assert "value" in error["fields"], body
    largest = admin_api.put("/teams/acme/secrets/TOKEN", json={"value": "x" * 65536})
    assert largest.status_code == 201
    assert list(team.secrets.values_list("name", flat=True)) == ["TOKEN"]


def test_delete_is_204_and_unknown_is_404(admin_api: Any, team: Any) -> None:
    admin_api.put("/teams/acme/secrets/TOKEN", json={"value": PLAINTEXT})

    response = admin_api.delete("/teams/acme/secrets/TOKEN")

    assert response.status_code == 204
    assert not team.secrets.exists()
    assert_error(admin_api.delete("/teams/acme/secrets/TOKEN"), 404, "not_found")


def test_delete_is_409_while_an_integration_uses_it(admin_api: Any, team: Any) -> None:
    admin_api.put("/teams/acme/secrets/HOOK_TOKEN", json={"value": PLAINTEXT})
    admin_api.post(
        "/teams/acme/integrations",
        json={"kind": "webhook", "name": "deploy", "url": "https://example.com/hook",
              "access_token_secret": "HOOK_TOKEN"},
    )

    error = assert_error(admin_api.delete("/teams/acme/secrets/HOOK_TOKEN"), 409, "in_use")

    assert "deploy" in error["message"]
    assert team.secrets.filter(name="HOOK_TOKEN").exists()
    Integration.objects.filter(name="deploy").delete()
    assert admin_api.delete("/teams/acme/secrets/HOOK_TOKEN").status_code == 204


def test_secrets_are_admin_only(member_api: Any, viewer_api: Any, team: Any) -> None:
    Secret.objects.create(team=team, name="TOKEN", value=PLAINTEXT)
    for api in (member_api, viewer_api):
        assert_error(api.get("/teams/acme/secrets"), 403, "forbidden")
        assert_error(api.put("/teams/acme/secrets/TOKEN", json={"value": "x"}), 403, "forbidden")
        assert_error(api.delete("/teams/acme/secrets/TOKEN"), 403, "forbidden")
    assert Secret.objects.get().value == PLAINTEXT


def test_another_teams_secret_is_invisible(outsider_api: Any, team: Any) -> None:
    Secret.objects.create(team=team, name="TOKEN", value=PLAINTEXT)

    assert_error(outsider_api.get("/teams/acme/secrets"), 404, "not_found")
    assert_error(outsider_api.delete("/teams/acme/secrets/TOKEN"), 404, "not_found")
    assert_error(outsider_api.put("/teams/acme/secrets/TOKEN", json={"value": "x"}), 404,
                 "not_found")
    assert Secret.objects.get().value == PLAINTEXT
