"""Beacon as separate processes (``manage.py serve``, gunicorn, qcluster), each on a
SQLite database and data folder of its own in a temporary directory.

    site = BeaconSite.create(tmp_path)          # migrated, with its own keys
    api_key = site.seed_webhook(receiver.url("/hook"))
    proc = site.popen(["manage.py", "serve", "--port", str(port)])

The environment is the test process's minus every Beacon variable, so a child
never reaches the test database, Redis or another test's queue.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.supervisor import group_members

ROOT = Path(__file__).resolve().parents[2]
STRIPPED = {
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "PORT",
    "HOST", "WEB_CONCURRENCY", "Q_CLUSTER_NAME", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE",
}


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in STRIPPED and not k.startswith(("BEACON_", "SECURE_", "GUNICORN"))}
    env.update({"PYTHONUNBUFFERED": "1", **extra})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def http(method: str, url: str, body: Any = None, key: str | None = None,
         timeout: float = 30) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def answers(url: str) -> bool:
    try:
        return http("GET", url, timeout=5)[0] == 200
    except OSError:
        return False


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session, …"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """Live processes below ``pid`` (children, grandchildren, …)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields and fields[0] not in ("Z", "X"):
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def children_running(pid: int, marker: str) -> list[int]:
    return [p for p in descendants(pid)
            if marker in cmdline(p) and (proc_stat(p) or [""])[1] == str(pid)]


@dataclass
class BeaconSite:
    """A temp data folder + .env + migrated SQLite database."""

    root: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path, template: BeaconSite | None = None, migrate: bool = True,
               **extra: str) -> BeaconSite:
        root.mkdir(parents=True, exist_ok=True)
        if template is not None:
            shutil.copytree(template.root / "data", root / "data",
                            ignore=shutil.ignore_patterns("staticfiles"))
            shutil.copy2(template.root / ".env", root / ".env")
        env = clean_env(
            BEACON_DATA_DIR=str(root / "data"),
            BEACON_ENV_FILE=str(root / ".env"),
            BEACON_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8,::1/128",
            **extra,
        )
        site = cls(root, env)
        if template is None and migrate:
            site.manage("migrate", "--noinput", "-v0")
        return site

    def manage(self, *args: str, env: dict[str, str] | None = None,
               check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result

    def shell(self, code: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.manage("shell", "-c", code, **kw)

    def seed_webhook(self, url: str) -> str:
        """Team ``ops`` (admin ``opsadmin``), project ``demo``, a webhook integration
        ``hook`` to ``url`` and an automation on failed runs; returns an API key."""
        code = f"""
from django.contrib.auth.models import User
from projects.models import Project
from teams.models import ApiKey, Membership, Team
from tests.support.factories import make_automation, make_webhook
team = Team.objects.create(slug="ops", name="Ops")
user = User.objects.create_user("opsadmin", "ops@example.com", "pw-opsadmin")
Membership.objects.create(team=team, user=user, role="admin")
project = Project.objects.create(team=team, name="demo")
hook = make_webhook(team, {url!r}, name="hook")
make_automation(project, hook, event_type="RUN_STATE", filter={{"states": ["failed"]}})
print(ApiKey.issue(user, "ops-test")[1])
"""
        return self.shell(code).stdout.strip().splitlines()[-1]

    def popen(self, argv: Sequence[str], log: str, env: dict[str, str] | None = None,
              ) -> subprocess.Popen[bytes]:
        """Start ``argv`` (``python`` means this interpreter) in a session of its own,
        output to ``<root>/<log>``."""
        args = [sys.executable if a == "python" else a for a in argv]
        with (self.root / log).open("wb") as out:
            process = subprocess.Popen(
                args, cwd=ROOT, env={**self.env, **(env or {})},
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""

    def cleanup(self, pgids: Sequence[int] = ()) -> None:
        """Kill whatever this site started (tests assert before this runs)."""
        for pgid in {*pgids, *(p.pid for p in self.started)}:
            for pid in group_members(pgid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def fail_run(base_url: str, key: str, run_id: str) -> None:
    """Start run ``run_id`` in ops/demo and fail it, over the HTTP API."""
    runs = f"{base_url}/api/v1/teams/ops/projects/demo/runs"
    status, body = http("POST", runs, {"id": run_id}, key=key)
    assert status == 201, body
    status, body = http("PATCH", f"{runs}/{run_id}", {"state": "failed"}, key=key)
    assert status == 200, body
