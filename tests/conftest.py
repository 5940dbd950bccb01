"""Shared fixtures: personas (admin, member, viewer, outsider), a team with a
project and a registry, signed-in browser clients, API clients that authenticate
with real API keys, and the integrations and automations the page tests use."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from projects.models import Project
from registries.models import Registry
from teams.models import ApiKey, Membership, Team
from tests.support.receiver import Receiver
from tests.support.web import Clients

pytest_plugins = ["tests.support.automation_fixtures"]


@pytest.fixture(autouse=True)
def fast_password_hasher(settings: Any) -> None:
    """Tests create many users; a fast hasher keeps them quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def loopback_receivers_allowed(settings: Any) -> None:
    """Tests deliver to receivers on 127.0.0.1, as `make run`'s local demo may
    (production, with DEBUG off, refuses private addresses by default)."""
    settings.BEACON_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8", "::1/128"]


@pytest.fixture(autouse=True)
def deliveries_in_the_task(settings: Any) -> None:
    """``tasks.deliver`` makes its attempt in the calling thread: no delivery runtime
    (threads and a poller, as in a qcluster worker) is started in the test process,
    where its threads would outlive the test. qcluster subprocesses run their own."""
    settings.BEACON_DELIVERY_THREADS = 0


@pytest.fixture(autouse=True)
def own_cache(settings: Any) -> None:
    """Each test counts rate limits and lockouts in a cache of its own (in memory), so
    tests never see each other's counts, nor those of runs in parallel."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def team(db: Any) -> Team:
    return Team.objects.create(slug="acme", name="Acme ML")


@pytest.fixture
def other_team(db: Any) -> Team:
    return Team.objects.create(slug="globex", name="Globex")


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(username: str, team: Team | None = None, role: str | None = None) -> User:
        user = User.objects.create_user(username, f"{username}@example.com", "pw-" + username)
        if team is not None and role is not None:
            Membership.objects.create(team=team, user=user, role=role)
        return user

    return make


@pytest.fixture
def admin(make_user: Callable[..., User], team: Team) -> User:
    return make_user("alice", team, "admin")


@pytest.fixture
def member(make_user: Callable[..., User], team: Team) -> User:
    return make_user("mia", team, "member")


@pytest.fixture
def viewer(make_user: Callable[..., User], team: Team) -> User:
    return make_user("vic", team, "viewer")


@pytest.fixture
def outsider(make_user: Callable[..., User], other_team: Team) -> User:
    return make_user("otto", other_team, "admin")


@pytest.fixture
def project(team: Team) -> Project:
    return Project.objects.create(team=team, name="mnist")


@pytest.fixture
def registry(team: Team) -> Registry:
    return Registry.objects.create(team=team, name="model")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on loopback that records what it is sent."""
    with Receiver() as server:
        yield server


@pytest.fixture
def client_for(db: Any) -> Clients:
    def make(user: User | None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


class ApiClient:
    """A Django test client speaking JSON with ``Authorization: Bearer <key>``."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def _call(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        fn = getattr(self.client, method)
        if json is not None:
            kw["data"] = json
            kw["content_type"] = "application/json"
        return fn("/api/v1" + path, headers=self.headers, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self._call("get", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self._call("post", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self._call("put", path, json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self._call("patch", path, json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self._call("delete", path, **kw)


@pytest.fixture
def api_for(db: Any) -> Callable[[User | None], ApiClient]:
    def make(user: User | None) -> ApiClient:
        return ApiClient(ApiKey.issue(user, "test")[1] if user else None)

    return make


@pytest.fixture
def admin_api(api_for: Callable[[User | None], ApiClient], admin: User) -> ApiClient:
    return api_for(admin)


@pytest.fixture
def member_api(api_for: Callable[[User | None], ApiClient], member: User) -> ApiClient:
    return api_for(member)


@pytest.fixture
def viewer_api(api_for: Callable[[User | None], ApiClient], viewer: User) -> ApiClient:
    return api_for(viewer)


@pytest.fixture
def outsider_api(api_for: Callable[[User | None], ApiClient], outsider: User) -> ApiClient:
    return api_for(outsider)
