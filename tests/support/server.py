"""Start a real web server process (gunicorn, several workers) on loopback.

    with running_server(env={"REDIS_URL": "redis://127.0.0.1:1/0"}) as server:
        requests.get(server.url + "/api/v1/health")

By default it reaches the database the test process uses (the SQLite test file, or
the PostgreSQL test database; ``DATABASE_URL`` in ``env`` overrides it) and the same
Redis, with a queue name of its own. Use it with ``transactional_db``: the server
only sees committed rows. Its output is in ``server.log``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from tests.support.qcluster import child_env, stop_group

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT = 60.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Until the server answers HTTP at all (``/health`` may be a 503 by design)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log}")
            try:
                requests.get(self.url + "/api/v1/health", timeout=15)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        raise RuntimeError(f"server not answering after {timeout}s:\n{self.log}")

    def stop(self) -> None:
        stop_group(self.process, timeout=20)


@contextmanager
def running_server(
    env: dict[str, str] | None = None, *, workers: int = 3, threads: int = 4
) -> Iterator[Server]:
    """A gunicorn server answering on a free loopback port; always stopped on exit."""
    port = closed_port()
    cache_dir = tempfile.mkdtemp(prefix="beacon-cache-")
    fixed = {
        "BEACON_BASE_URL": f"http://127.0.0.1:{port}",
        "BEACON_CACHE_DIR": cache_dir,
        "Q_CLUSTER_NAME": f"beacon-test-web-{os.getpid()}-{port}",
    }
    log_file = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "gthread",
            "--threads", str(threads),
            "--timeout", "300",
            "--graceful-timeout", "10",
        ],
        cwd=BASE_DIR,
        env=child_env(fixed, env),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log_file.close()
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        log_path.unlink(missing_ok=True)
        shutil.rmtree(cache_dir, ignore_errors=True)
