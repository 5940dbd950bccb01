"""Failed logins lock a username out from one address for a while (django-axes)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client


@pytest.fixture
def lockout(settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3


def attempt(client: Client, path: str, username: str, password: str,
            address: str = "10.0.0.1") -> Any:
    return client.post(path, {"username": username, "password": password},
                       REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_failed_logins_lock_the_user_out_from_that_address(
    path: str, lockout: None, make_user: Any
) -> None:
    user: User = make_user("sam")
    user.is_staff = True
    user.save()
    client = Client()

    failures = [attempt(client, path, "sam", "wrong").status_code for _ in range(2)]
    locked = attempt(client, path, "sam", "wrong")
    right_password = attempt(client, path, "sam", "pw-sam")

    assert failures == [200, 200]  # the form again, with its error
    for response in (locked, right_password):
        assert response.status_code == 429
        assert "locked for 15 minutes" in " ".join(response.content.decode().split())
        assert response["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    # Another address, or another username from this address, is not locked.
    assert attempt(Client(), path, "sam", "pw-sam", address="10.0.0.2").status_code == 302
    assert attempt(Client(), path, "nobody", "x").status_code == 200


def test_a_success_before_the_limit_resets_the_count(lockout: None, make_user: Any) -> None:
    make_user("sam")
    client = Client()
    for _ in range(2):
        attempt(client, "/login/", "sam", "wrong")
    assert attempt(client, "/login/", "sam", "pw-sam").status_code == 302
    client.post("/logout/")

    for _ in range(2):
        assert attempt(client, "/login/", "sam", "wrong").status_code == 200
    assert attempt(client, "/login/", "sam", "pw-sam").status_code == 302


def test_the_lockout_ends_after_the_cool_off(
    lockout: None, make_user: Any, settings: Any
) -> None:
    from datetime import timedelta

    make_user("sam")
    client = Client()
    for _ in range(3):
        attempt(client, "/login/", "sam", "wrong")
    assert attempt(client, "/login/", "sam", "pw-sam").status_code == 429

    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)

    assert attempt(client, "/login/", "sam", "pw-sam").status_code == 302


def test_logins_without_a_request_are_not_throttled(make_user: Any) -> None:
    make_user("sam")

    assert Client().login(username="sam", password="pw-sam")
