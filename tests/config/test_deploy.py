"""The production process definitions work as written: each ``Procfile`` line and
each systemd unit in ``deploy/`` (its ExecStart with its Environment) is started
on a fresh temp database; web and worker processes started separately deliver
together; SIGTERM to gunicorn lets an in-flight request finish."""

from __future__ import annotations

import os
import re
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.beacon_process import (
    ROOT,
    BeaconSite,
    answers,
    fail_run,
    free_port,
    http,
    wait_for,
)
from tests.support.receiver import Receiver, Recorded

pytestmark = pytest.mark.integration

SLOW = 3.0


class SlowReceiver(Receiver):
    """Answers every request after SLOW seconds."""

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        time.sleep(SLOW)
        return 200, b'{"ok": true}', "application/json"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[BeaconSite]:
    site = BeaconSite.create(tmp_path / "site", migrate=False)
    # `python` in a Procfile line is this interpreter.
    site.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{site.env.get('PATH', '')}"
    yield site
    site.cleanup()


def procfile() -> dict[str, str]:
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def unit(name: str, instance: str = "") -> tuple[list[str], dict[str, str]]:
    """ExecStart (as argv, for this checkout) and Environment of a unit in deploy/."""
    text = (ROOT / "deploy" / name).read_text().replace("%i", instance)
    service = text.split("[Service]", 1)[1].split("\n[", 1)[0]
    values: dict[str, list[str]] = {}
    for line in service.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key.strip(), []).append(value.strip())
    assert values["WorkingDirectory"] == ["/opt/beacon"]
    assert values["EnvironmentFile"] == ["/etc/beacon/beacon.env"]
    [exec_start] = values["ExecStart"]
    argv = shlex.split(exec_start.replace("/opt/beacon/.venv/bin/python", sys.executable))
    env = dict(item.split("=", 1) for item in values.get("Environment", []))
    return argv, env


def deliver_through(site: BeaconSite, base: str, receiver: Receiver, run_id: str) -> None:
    key = site.seed_webhook(receiver.url("/hook"))
    fail_run(base, key, run_id)
    [delivered] = receiver.wait_for(1, path="/hook", timeout=90)
    assert run_id in delivered.text


def test_every_procfile_process_starts_and_they_deliver_together(site: BeaconSite) -> None:
    commands = procfile()
    assert set(commands) == {"release", "web", "worker"}
    release = site.popen(["bash", "-c", "exec " + commands["release"]], log="release.log")
    assert release.wait(timeout=180) == 0, site.log("release.log")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"HOST": "127.0.0.1", "PORT": str(port)}
    web = site.popen(["bash", "-c", "exec " + commands["web"]], log="web.log", env=env)
    worker = site.popen(["bash", "-c", "exec " + commands["worker"]], log="worker.log")
    wait_for(lambda: answers(f"{base}/api/v1/ready") or web.poll() is not None, 90, "web")
    assert web.poll() is None, site.log("web.log")
    wait_for(lambda: "ready for work" in site.log("worker.log"), 90, "the worker")
    assert worker.poll() is None
    assert "Booting worker" in site.log("web.log")  # gunicorn

    with Receiver() as receiver:
        deliver_through(site, base, receiver, "procfile-run")


def test_sigterm_lets_gunicorn_finish_the_request_in_flight(site: BeaconSite) -> None:
    site.manage("migrate", "--noinput", "-v0")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = site.popen(["bash", "-c", "exec " + procfile()["web"]], log="web.log",
                     env={"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"})
    wait_for(lambda: answers(f"{base}/api/v1/health") or web.poll() is not None, 90, "web")
    with SlowReceiver() as receiver:
        key = site.seed_webhook(receiver.url("/hook"))
        answer: list[tuple[int, object]] = []
        # "Send a test delivery now" waits for the slow receiver.
        call = threading.Thread(target=lambda: answer.append(http(
            "POST", f"{base}/api/v1/teams/ops/integrations/hook/test", {}, key=key,
            timeout=60)))
        call.start()
        wait_for(lambda: receiver.received("/hook"), 30, "the request to be in flight")
        web.send_signal(signal.SIGTERM)
        call.join(timeout=60)
        assert web.wait(timeout=60) == 0, site.log("web.log")

    [(status, body)] = answer
    assert status == 200 and body["ok"] is True, body
    assert re.search(r"Handling signal: term", site.log("web.log"))


def test_every_systemd_unit_starts_as_written(site: BeaconSite) -> None:
    argv, env = unit("beacon-migrate.service")
    migrate = site.popen(argv, log="migrate.log", env=env)
    assert migrate.wait(timeout=180) == 0, site.log("migrate.log")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web_argv, web_env = unit("beacon-web@.service", instance=str(port))
    assert web_env["PORT"] == str(port) and web_env["HOST"] == "127.0.0.1"
    web = site.popen(web_argv, log="web.log", env=web_env)
    worker_argv, worker_env = unit("beacon-worker@.service", instance="1")
    site.popen(worker_argv, log="worker.log", env=worker_env)
    wait_for(lambda: answers(f"{base}/api/v1/ready") or web.poll() is not None, 90, "web")
    assert web.poll() is None, site.log("web.log")
    wait_for(lambda: "ready for work" in site.log("worker.log"), 90, "the worker")

    with Receiver() as receiver:
        deliver_through(site, base, receiver, "systemd-run")
