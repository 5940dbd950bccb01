"""Scale-out: 2 gunicorn web processes and 2 qcluster processes against one
PostgreSQL + Redis. A burst of failed runs is sent through both webs; every
execution must reach the receiver exactly once (by ``webhook-id``) and none may be
lost, with both clusters taking work from the shared queue.

Runs only when the test database is PostgreSQL and ``REDIS_URL`` is set (several
processes cannot share the embedded SQLite + ORM-broker default this way).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from automations.models import Event, Execution
from projects.models import Project
from teams.models import ApiKey, Team
from tests.support.beacon_process import answers, free_port, http, wait_for
from tests.support.factories import make_automation, make_webhook
from tests.support.qcluster import QCluster, database_url, start_qcluster
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration

RUNS = 80
ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def shared_backends(transactional_db: Any) -> None:
    if connection.vendor != "postgresql" or not getattr(settings, "REDIS_URL", ""):
        pytest.skip("scale-out needs DATABASE_URL on PostgreSQL and REDIS_URL")


class Web:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port, self.process, self.log_path = port, process, log

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
        self.log_path.unlink(missing_ok=True)


def start_web(queue: str) -> Web:
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="web-", suffix=".log")[1])
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": settings.REDIS_URL,
        "Q_CLUSTER_NAME": queue,
        "WEB_CONCURRENCY": "1",
        "BEACON_BASE_URL": settings.BEACON_BASE_URL,
        "BEACON_ALLOWED_PRIVATE_NETWORKS": "127.0.0.0/8,::1/128",
        "BEACON_API_RATE": "100000",
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn_conf.py",
             "--bind", f"127.0.0.1:{port}", "config.wsgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Web(port, process, log)


@pytest.fixture
def deployment(shared_backends: None) -> Iterator[tuple[list[Web], list[QCluster]]]:
    from django_q.conf import Conf

    queue = f"beacon-scale-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    webs: list[Web] = []
    clusters: list[QCluster] = []
    previous, Conf.CLUSTER_NAME = Conf.CLUSTER_NAME, queue
    try:
        webs = [start_web(queue) for _ in range(2)]
        clusters = [start_qcluster({"BEACON_WORKERS": "2"}, queue) for _ in range(2)]
        for cluster in clusters:
            cluster.wait_ready(60)
        for web in webs:
            wait_for(lambda w=web: answers(f"{w.base}/api/v1/health")
                     or w.process.poll() is not None, 60, f"web on port {web.port}")
            assert web.process.poll() is None, web.log_path.read_text(errors="replace")
        yield webs, clusters
    finally:
        Conf.CLUSTER_NAME = previous
        for web in webs:
            web.stop()
        for cluster in clusters:
            cluster.stop()
            cluster.log_path.unlink(missing_ok=True)


def test_two_webs_and_two_workers_deliver_every_execution_exactly_once(
    deployment: tuple[list[Web], list[QCluster]], receiver: Receiver, team: Team, member: Any
) -> None:
    webs, clusters = deployment
    receiver.requests.clear()
    key = ApiKey.issue(member, "scale-out")[1]
    project = Project.objects.create(team=team, name="sweep")
    hook = make_webhook(team, receiver.url("/scale"), name="scale")
    make_automation(project, hook, event_type="RUN_STATE", filter={"states": ["failed"]})

    def fail(n: int) -> None:
        runs = f"{webs[n % 2].base}/api/v1/teams/acme/projects/sweep/runs"
        status, body = http("POST", runs, {"id": f"r{n}"}, key=key)
        assert status == 201, body
        status, body = http("PATCH", f"{runs}/r{n}", {"state": "failed"}, key=key)
        assert status == 200, body

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(fail, range(RUNS)))

    receiver.wait_for(RUNS, path="/scale", timeout=180)
    deadline = time.monotonic() + 120
    while Execution.objects.filter(status=Execution.Status.PENDING).exists() or \
            Event.objects.filter(processed_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the clusters did not finish"
        time.sleep(0.25)
    time.sleep(1.0)  # a duplicate would show up now

    executions = list(Execution.objects.values_list("webhook_id", "status"))
    assert len(executions) == RUNS
    assert {status for _, status in executions} == {"finished"}
    got = Counter(r.headers["webhook-id"] for r in receiver.received("/scale"))
    assert set(got) == {webhook_id for webhook_id, _ in executions}  # none lost
    assert set(got.values()) == {1}  # none delivered twice
    assert {r.json()["event"]["data"]["run"]["id"] for r in receiver.received("/scale")} \
        == {f"r{n}" for n in range(RUNS)}
    # Both clusters took tasks from the shared queue.
    for cluster in clusters:
        assert "processing" in cluster.log, cluster.log[-2000:]
