"""Wrong API keys per address and bursts per key answer 429 with ``Retry-After``
in the API's error shape; the limits are settings."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches

from teams.models import ApiKey
from tests.support.api import assert_error


def get_viewer(api: Any, address: str = "10.0.0.1") -> Any:
    return api.get("/viewer", REMOTE_ADDR=address)


def test_wrong_keys_from_one_address_are_refused_for_a_while(
    settings: Any, api_for: Any, member: Any
) -> None:
    settings.BEACON_API_BAD_KEY_LIMIT = 3
    settings.BEACON_API_BAD_KEY_PERIOD = 600
    guesser = api_for(None)
    guesser.headers = {"Authorization": "Bearer bk_guess"}
    good = api_for(member)

    wrong = [get_viewer(guesser).status_code for _ in range(3)]
    refused = get_viewer(guesser)
    refused_good = get_viewer(good)  # even a right key: the address is blocked

    assert wrong == [401, 401, 401]
    for response in (refused, refused_good):
        error = assert_error(response, 429, "rate_limited")
        assert 1 <= int(response["Retry-After"]) <= 600
        assert f"{response['Retry-After']} s" in error["message"]
    assert get_viewer(good, address="10.0.0.2").status_code == 200


def test_each_key_has_a_request_rate(settings: Any, api_for: Any, member: Any) -> None:
    settings.BEACON_API_RATE = 5
    busy, other = api_for(member), api_for(member)

    answers = [get_viewer(busy).status_code for _ in range(5)]
    burst = get_viewer(busy)

    assert answers == [200] * 5
    assert_error(burst, 429, "rate_limited")
    assert 1 <= int(burst["Retry-After"]) <= 60
    assert get_viewer(other).status_code == 200  # the limit is per key


def test_zero_turns_the_limits_off(settings: Any, api_for: Any, member: Any) -> None:
    settings.BEACON_API_RATE = 0
    settings.BEACON_API_BAD_KEY_LIMIT = 0
    guesser = api_for(None)
    guesser.headers = {"Authorization": "Bearer bk_guess"}

    assert {get_viewer(guesser).status_code for _ in range(30)} == {401}
    assert {get_viewer(api_for(member)).status_code for _ in range(30)} == {200}


def test_a_cache_that_fails_lets_requests_through(
    monkeypatch: pytest.MonkeyPatch, api_for: Any, member: Any
) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    for name in ("add", "incr", "get"):
        monkeypatch.setattr(type(caches["default"]), name, down)

    assert get_viewer(api_for(member)).status_code == 200


def test_the_defaults_allow_a_script_logging_history_in_a_loop(
    api_for: Any, member: Any, project: Any
) -> None:
    api = api_for(member)
    assert api.post("/teams/acme/projects/mnist/runs", json={"id": "r1"}).status_code == 201
    for step in range(300):
        rows = [{"step": step, "metrics": {"loss": 1 / (step + 1)}}]
        response = api.post("/teams/acme/projects/mnist/runs/r1/history", json={"rows": rows})
        assert response.status_code == 202, (step, response.content)
    assert ApiKey.objects.get(user=member).last_used_at is not None
