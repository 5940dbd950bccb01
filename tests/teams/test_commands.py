"""The set-up commands: create_team and create_api_key."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from teams.models import ApiKey, Membership, Team


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_team_creates_the_user_the_team_and_the_admin_membership(db: Any) -> None:
    output = run("create_team", "acme", "--admin", "alice", "--password", "pw-12345",
                 "--name", "Acme ML")

    team = Team.objects.get(slug="acme")
    assert team.name == "Acme ML"
    user = User.objects.get(username="alice")
    assert user.check_password("pw-12345")
    assert Membership.objects.get(team=team, user=user).role == "admin"
    assert "Created user alice" in output
    assert "Created team acme" in output
    assert "pw-12345" not in output


def test_a_new_user_without_password_gets_a_printed_generated_one(db: Any) -> None:
    output = run("create_team", "acme", "--admin", "bob")

    line = next(line for line in output.splitlines() if line.startswith("Created user bob"))
    password = line.rsplit(" ", 1)[1]
    assert User.objects.get(username="bob").check_password(password)


def test_create_team_is_idempotent_and_promotes_existing_members(db: Any) -> None:
    run("create_team", "acme", "--admin", "alice", "--password", "pw-12345")
    carol = User.objects.create_user("carol", password="pw-carol")
    Membership.objects.create(team=Team.objects.get(), user=carol, role="viewer")

    again = run("create_team", "acme", "--admin", "alice")
    promoted = run("create_team", "acme", "--admin", "carol")

    assert "already an admin" in again
    assert "Made carol an admin" in promoted
    assert Team.objects.count() == 1
    assert User.objects.count() == 2
    assert Membership.objects.get(user=carol).role == "admin"
    assert User.objects.get(username="alice").check_password("pw-12345")
    assert carol.check_password("pw-carol")


def test_create_team_sets_the_password_of_an_existing_user_when_given(db: Any) -> None:
    User.objects.create_user("alice", password="old-password")

    output = run("create_team", "acme", "--admin", "alice", "--password", "new-password")

    assert "Set the password of user alice" in output
    assert User.objects.get(username="alice").check_password("new-password")


def test_create_team_refuses_a_bad_slug(db: Any) -> None:
    with pytest.raises(CommandError):
        run("create_team", "not a slug", "--admin", "alice")
    assert not Team.objects.exists()
    assert not User.objects.exists()


def test_create_api_key_prints_only_a_working_key_on_its_last_line(db: Any) -> None:
    user = User.objects.create_user("alice")

    output = run("create_api_key", "alice", "--name", "ci")

    key = output.strip().splitlines()[-1]
    assert output.strip() == key
    found = ApiKey.authenticate(key)
    assert found is not None
    assert (found.user, found.name) == (user, "ci")
    assert found.hashed_key != key  # stored hashed


def test_create_api_key_for_an_unknown_user_fails(db: Any) -> None:
    with pytest.raises(CommandError, match="nobody"):
        run("create_api_key", "nobody")
    assert not ApiKey.objects.exists()
