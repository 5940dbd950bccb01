"""Start a real ``python manage.py qcluster`` process on the current test database.

    with running_qcluster(env={"SLACK_API_URL": fake_slack.api_url}) as cluster:
        ...  # drive events; the cluster processes them

The worker reaches the database the test process uses (``connection.settings_dict``:
the SQLite test file, or the PostgreSQL test database) and the same Redis
(``REDIS_URL``), under a queue name of its own so parallel runs never steal
each other's tasks. Use it with ``transactional_db`` or ``live_server``: the
worker only sees committed rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT = 30.0


def database_url(settings_dict: dict[str, Any]) -> str:
    """A ``DATABASE_URL`` (django-environ syntax) for the database of ``settings_dict``."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        name = str(settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("a qcluster process needs a file SQLite test database")
        return f"sqlite:///{Path(name).resolve()}"
    if "postgresql" in engine:
        user = quote(settings_dict.get("USER") or "")
        password = settings_dict.get("PASSWORD") or ""
        auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"
    raise RuntimeError(f"no DATABASE_URL for engine {engine}")


def child_env(fixed: dict[str, str], env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process started for a test: this one's, the test database
    as ``DATABASE_URL``, the same Redis, then ``fixed``, then ``env`` (the caller's)."""
    out = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "PYTHONUNBUFFERED": "1",
        **fixed,
    }
    if getattr(settings, "REDIS_URL", ""):
        out["REDIS_URL"] = settings.REDIS_URL
    out.update(env or {})
    return out


def stop_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class QCluster:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path, name: str) -> None:
        self.process = process
        self.log_path = log_path
        self.name = name

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qcluster exited with {self.process.returncode}:\n{self.log}")
            if "ready for work" in self.log:
                return
            time.sleep(0.1)
        raise RuntimeError(f"qcluster not ready after {timeout}s:\n{self.log}")

    def stop(self) -> None:
        stop_group(self.process, timeout=15)

    def kill(self) -> None:
        """SIGKILL every process of the cluster at once (sentinel, workers, pusher,
        monitor): nothing gets to clean up."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)


def start_qcluster(env: dict[str, str] | None = None, name: str | None = None) -> QCluster:
    """Start a qcluster process (not waiting for it); stop or kill it yourself.

    ``name`` is its queue: a cluster started again under the same name finds the
    tasks the previous one left in the broker."""
    name = name or f"beacon-test-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    fixed = {
        "Q_CLUSTER_NAME": name,
        "BEACON_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
        "BEACON_BASE_URL": settings.BEACON_BASE_URL,
    }
    log_file = tempfile.NamedTemporaryFile(prefix="qcluster-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=BASE_DIR,
        env=child_env(fixed, env),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    return QCluster(process, Path(log_file.name), name)


@contextmanager
def running_qcluster(env: dict[str, str] | None = None) -> Iterator[QCluster]:
    """A started qcluster (ready for work); always stopped on exit.

    ``env`` adds environment variables for the worker, e.g. ``SLACK_API_URL``."""
    from django_q.conf import Conf

    cluster = start_qcluster(env)
    # Tasks queued by this process must go to the worker's queue.
    previous = Conf.CLUSTER_NAME
    Conf.CLUSTER_NAME = cluster.name
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        Conf.CLUSTER_NAME = previous
        cluster.stop()
        cluster.log_path.unlink(missing_ok=True)


def wait_until_quiet(timeout: float = 30.0) -> None:
    """Until every event is processed and no execution is pending (bounded polling):
    the worker of ``running_qcluster`` is done with what the test triggered."""
    from automations.models import Event, Execution

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = (
            Event.objects.filter(processed_at__isnull=True).exists()
            or Execution.objects.filter(status=Execution.Status.PENDING).exists()
        )
        if not busy:
            return
        time.sleep(0.1)
    raise AssertionError(f"the worker did not finish within {timeout}s")
