"""Shared set-up of the throughput benchmarks: a throw-away database, Django, a receiver.

``setup(config)`` must run before anything imports Django models:

- ``"embedded"``: a new SQLite file in a temp directory, the ORM broker (the default);
- ``"postgres"``: a new database ``<DATABASE_URL's name>_bench_<pid>`` on the server of
  ``DATABASE_URL`` (dropped by ``teardown``) and ``REDIS_URL`` as the broker, under a
  queue name of its own.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_state: dict[str, str] = {}


def postgres_available() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(
        os.environ.get("REDIS_URL")
    )


def setup(config: str) -> None:
    tmp = tempfile.mkdtemp(prefix="beacon-bench-")
    os.environ["BEACON_DATA_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["BEACON_ALLOWED_PRIVATE_NETWORKS"] = "127.0.0.0/8,::1/128"
    os.environ["BEACON_API_RATE"] = "1000000"
    if config == "embedded":
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ.pop("REDIS_URL", None)
    else:
        import psycopg

        parts = urlsplit(os.environ["DATABASE_URL"])
        name = f"{parts.path.lstrip('/') or 'beacon'}_bench_{os.getpid()}"
        admin = urlunsplit(parts._replace(path="/postgres", scheme="postgresql"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        _state.update(admin=admin, name=name)
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def alternating_medians(
    first: Callable[[], object], second: Callable[[], object], repeat: int, warmup: int = 5
) -> tuple[float, float]:
    """Median seconds of both, measured alternately so that a busy machine slows both
    alike (each is called ``warmup`` times first)."""
    for _ in range(warmup):
        first()
        second()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(samples[0]), statistics.median(samples[1])


def bench_member() -> tuple[Any, Any, str]:
    """A user who is a member of team ``bench``, the team, and an API key of the user."""
    from django.contrib.auth.models import User

    from teams.models import ApiKey, Membership, Team

    user = User.objects.create_user("bench")
    team = Team.objects.create(slug="bench", name="Bench")
    Membership.objects.create(team=team, user=user, role="member")
    return user, team, ApiKey.issue(user, "bench")[1]


def teardown() -> None:
    from django.db import connections

    connections.close_all()
    if "name" in _state:
        import psycopg

        with psycopg.connect(_state["admin"], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_state["name"]}" WITH (FORCE)')


class CountingReceiver:
    """A loopback HTTP/1.1 (keep-alive) receiver that counts messages by ``webhook-id``."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                webhook_id = self.headers.get("webhook-id")
                with receiver.lock:
                    if webhook_id:
                        receiver.ids[webhook_id] = receiver.ids.get(webhook_id, 0) + 1
                        receiver.bodies.append(body)
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender that went away (a stopped cluster) is not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def wait_for(self, count: int, timeout: float) -> bool:
        with self.lock:
            return self.arrived.wait_for(lambda: len(self.ids) >= count, timeout)

    def reset(self) -> None:
        with self.lock:
            self.ids.clear()
            self.bodies.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def row(what: str, beacon: str, baseline: str, ratio: float | None, note: str = "") -> str:
    shown = f"{ratio:.2f}" if ratio is not None else "-"
    return f"| {what} | {beacon} | {baseline} | {shown}{' ' + note if note else ''} |"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
