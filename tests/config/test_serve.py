"""``manage.py serve`` (what ``make run`` starts): gunicorn and the django-q2 cluster,
supervised. Ctrl-C leaves no process behind; a killed worker or web server is
restarted, and deliveries and health carry on. Real processes on a temp SQLite
database and a free port."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.supervisor import group_members
from tests.support.beacon_process import (
    BeaconSite,
    answers,
    children_running,
    descendants,
    fail_run,
    free_port,
    proc_stat,
    wait_for,
)
from tests.support.receiver import Receiver, Recorded

pytestmark = pytest.mark.integration

GRACE = 3.0


class HangingReceiver(Receiver):
    """Holds every request until released (a receiver that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.arrived = threading.Event()

    def handle(self, request: Recorded) -> tuple[int, bytes, str]:
        self.arrived.set()
        self.release.wait(120)
        return 200, b"{}", "application/json"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> BeaconSite:
    return BeaconSite.create(tmp_path_factory.mktemp("serve-template"))


@pytest.fixture
def site(template: BeaconSite, tmp_path: Path) -> Iterator[BeaconSite]:
    site = BeaconSite.create(tmp_path / "site", template=template)
    yield site
    site.cleanup()


def start_serve(site: BeaconSite, port: int) -> tuple[int, str]:
    """Start serve; wait until health answers and the cluster is ready. Returns
    (pid, base url)."""
    process = site.popen(["python", "manage.py", "serve", "--port", str(port),
                          "--grace", str(GRACE)], log="serve.log",
                         env={"WEB_CONCURRENCY": "2", "BEACON_WORKERS": "2"})
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(f"{base}/api/v1/health") or process.poll() is not None,
             90, "the web server to answer")
    assert process.poll() is None, site.log("serve.log")
    wait_for(lambda: "ready for work" in site.log("serve.log"), 90, "the cluster")
    return process.pid, base


def groups_of(pids: list[int]) -> set[int]:
    return {int(stat[2]) for stat in map(proc_stat, pids) if stat}


def test_ctrl_c_stops_every_process_it_started_before_saying_so(site: BeaconSite) -> None:
    with HangingReceiver() as receiver:
        key = site.seed_webhook(receiver.url("/hang"))
        pid, base = start_serve(site, free_port())
        tree = descendants(pid)
        # gunicorn master + 2 workers, qcluster + its guard, pusher, monitor, 2 workers
        assert len(tree) >= 7, tree
        groups = groups_of(tree)
        assert len(groups) == 2 and pid not in groups  # one process group per service
        # A delivery is in flight: a worker hangs on the receiver.
        fail_run(base, key, "hangs-1")
        assert receiver.arrived.wait(60), site.log("serve.log")

        asked = time.monotonic()
        os.kill(pid, signal.SIGINT)
        serve = site.started[0]
        serve.wait(timeout=GRACE + 30)
        took = time.monotonic() - asked
        # Checked at once: "Beacon stopped." was printed with nothing left running.
        left = {g: group_members(g) for g in groups}
        receiver.release.set()

    log = site.log("serve.log")
    assert serve.returncode == 0, log
    assert log.rstrip().endswith("Beacon stopped."), log
    assert left == {g: [] for g in groups}
    assert not [p for p in tree if proc_stat(p) and proc_stat(p)[0] not in ("Z", "X")]
    assert took < GRACE + 20, took
    assert "did not stop" in log  # the hanging worker was killed after the grace period


def test_a_killed_worker_or_web_server_is_restarted(site: BeaconSite) -> None:
    with Receiver() as receiver:
        key = site.seed_webhook(receiver.url("/hook"))
        pid, base = start_serve(site, free_port())

        # SIGKILL the qcluster: it is restarted, and a delivery still happens.
        [cluster] = children_running(pid, "qcluster")
        cluster_group = set(group_members(cluster))
        os.kill(cluster, signal.SIGKILL)
        wait_for(lambda: "worker exited with code -9" in site.log("serve.log"), 30,
                 "the restart to be logged")
        new_cluster = wait_for(lambda: [p for p in children_running(pid, "qcluster")
                                        if p != cluster], 60, "a new qcluster")
        wait_for(lambda: site.log("serve.log").count("ready for work") >= 4, 90,
                 "the new cluster's workers")
        assert not (set(group_members(cluster)) & cluster_group)  # orphans were killed
        fail_run(base, key, "after-worker-kill")
        [delivered] = receiver.wait_for(1, path="/hook", timeout=60)
        assert "after-worker-kill" in delivered.text

        # SIGKILL the web server (gunicorn's master): it is restarted, health answers.
        [web] = children_running(pid, "gunicorn")
        os.kill(web, signal.SIGKILL)
        wait_for(lambda: "web exited with code -9" in site.log("serve.log"), 30,
                 "the web restart to be logged")
        wait_for(lambda: [p for p in children_running(pid, "gunicorn") if p != web], 60,
                 "a new web server")
        wait_for(lambda: answers(f"{base}/api/v1/health"), 60, "health after the restart")
        assert new_cluster and site.started[0].poll() is None
