"""API keys in the shape the wandb SDK checks, working for both protocols."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from wandb.sdk.lib.wbauth.validation import check_api_key

from teams.models import ApiKey

VIEWER = "query { viewer { username entity } }"
PROJECTS = "/api/v1/teams/acme/projects"


def _wandb(key: str) -> Any:
    token = base64.b64encode(f"api:{key}".encode()).decode()
    return Client().post("/wandb/graphql", data={"query": VIEWER},
                         content_type="application/json",
                         headers={"Authorization": f"Basic {token}"})


def test_new_keys_pass_the_sdk_check_and_work_for_both_protocols(member: User) -> None:
    for _ in range(20):
        _, key = ApiKey.issue(member, "k")
        assert check_api_key(key) is None, key
        assert key.startswith("bk_") and len(key) >= 43
    json_api = Client().get(PROJECTS, headers={"Authorization": f"Bearer {key}"})
    assert json_api.status_code == 200
    response = _wandb(key)
    assert response.status_code == 200
    assert response.json()["data"]["viewer"] == {"username": "mia", "entity": "acme"}


def test_keys_issued_before_keep_working(member: User) -> None:
    old = "bk_" + "Ab-cd_" * 7  # the former urlsafe shape, with '-'
    ApiKey.objects.create(user=member, prefix=old[:10], hashed_key=ApiKey.hash(old))
    assert check_api_key(old) is not None  # the SDK refuses it: make a new key for wandb
    json_api = Client().get(PROJECTS, headers={"Authorization": f"Bearer {old}"})
    assert json_api.status_code == 200
    assert _wandb(old).status_code == 200


def test_wrong_revoked_or_missing_keys_are_401(member: User) -> None:
    obj, key = ApiKey.issue(member, "k")
    assert _wandb(key + "x").status_code == 401
    obj.revoke()
    assert _wandb(key).status_code == 401
    assert Client().post("/wandb/graphql", data={"query": VIEWER},
                         content_type="application/json").status_code == 401
