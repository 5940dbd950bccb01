"""Chaos: real qcluster processes SIGKILLed at random points of a burst of events
(a worker process, which the cluster replaces, or the whole cluster, started
again on the same queue); what arrives at the receiver is counted.

Expected: nothing lost (every event's message arrives), every execution ends
``finished``, nothing recorded twice, and the only duplicates are re-sends of a
message whose worker died between sending and recording: the same ``webhook-id``
and body, at most one per kill (one delivery in flight per destination).

``CHAOS_SEED=<n>`` replays the kill points of a failed run (the seed is printed).
"""

from __future__ import annotations

import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db.models import Count, F

from automations.models import Event, Execution
from projects.models import Project
from teams.models import Team
from tests.support.factories import make_automation, make_webhook
from tests.support.qcluster import QCluster, start_qcluster
from tests.support.receiver import Receiver, StallingReceiver

pytestmark = pytest.mark.integration

EVENTS = 200
# Then a tail of events whose receiver answers slowly, so that deliveries are being
# sent when the last kill comes (a burst's own deliveries keep pace with it).
TAIL, TAIL_ANSWER_SECONDS = 20, 0.2
KILLS_IN_BURST = 3
KILLS = KILLS_IN_BURST + 1  # and one while the tail's deliveries are being sent
# Short timeouts: a claim of a killed worker runs out after 2 + 5 + 5 = 12 s.
WORKER_ENV = {
    "BEACON_WORKERS": "2",
    "BEACON_RETRY_SCHEDULE": "0,1,2,4",
    "BEACON_WEBHOOK_CONNECT_TIMEOUT": "2",
    "BEACON_WEBHOOK_READ_TIMEOUT": "5",
    "BEACON_CLAIM_MARGIN": "5",
    "BEACON_DELIVERY_PER_DESTINATION": "1",
}
DRAIN_TIMEOUT = 150.0


def alive_pid(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Workers:
    """The cluster under test, killed and started again under one queue name."""

    def __init__(self) -> None:
        self.name = f"beacon-chaos-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        self.clusters: list[QCluster] = []

    @property
    def current(self) -> QCluster:
        return self.clusters[-1]

    def start(self) -> None:
        self.clusters.append(start_qcluster(WORKER_ENV, self.name))
        self.current.wait_ready()

    def kill_and_restart(self) -> None:
        """SIGKILL the whole cluster and start a new one on the same queue."""
        self.current.kill()
        self.start()

    def kill_a_worker(self) -> None:
        """SIGKILL one worker process; the cluster's sentinel starts another."""
        pids = [int(pid) for pid in re.findall(r"ready for work at (\d+)", self.current.log)]
        alive = [pid for pid in pids if alive_pid(pid)]
        assert alive, self.current.log[-2000:]
        os.kill(alive[-1], signal.SIGKILL)

    def close(self) -> None:
        for cluster in self.clusters:
            cluster.stop()
            cluster.log_path.unlink(missing_ok=True)


@pytest.fixture
def workers(transactional_db: Any) -> Iterator[Workers]:
    from django_q.conf import Conf

    chaos = Workers()
    previous, Conf.CLUSTER_NAME = Conf.CLUSTER_NAME, chaos.name
    try:
        yield chaos
    finally:
        Conf.CLUSTER_NAME = previous
        chaos.close()


def state() -> str:
    unprocessed = Event.objects.filter(processed_at__isnull=True).count()
    statuses = dict(Counter(Execution.objects.values_list("status", flat=True)))
    return f"{unprocessed} unprocessed event(s), executions {statuses}"


def wait_for_the_end(timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not (
            Event.objects.filter(processed_at__isnull=True).exists()
            or Execution.objects.filter(status=Execution.Status.PENDING).exists()
        ):
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not done after {timeout}s: {state()}")


class PacedReceiver(Receiver):
    """A receiver that answers ``pace`` seconds late (0 at first)."""

    pace = 0.0

    def handle(self, request: Any) -> tuple[int, bytes, str]:
        time.sleep(self.pace)
        return super().handle(request)


@pytest.fixture
def paced() -> Iterator[PacedReceiver]:
    with PacedReceiver() as receiver:
        yield receiver


def test_sigkilled_workers_lose_nothing_and_resend_at_most_once_per_kill(
    workers: Workers, paced: PacedReceiver, team: Team, member_api: Any
) -> None:
    receiver = paced
    seed = int(os.environ.get("CHAOS_SEED") or time.time_ns() % 10**9)
    rng = random.Random(seed)
    print(f"\nCHAOS_SEED={seed}")
    receiver.requests.clear()
    receiver.responses.clear()
    project = Project.objects.create(team=team, name="mnist")
    hook = make_webhook(team, receiver.url("/chaos"), name="chaos")
    make_automation(project, hook, event_type="CREATE_ARTIFACT", name="to-chaos",
                    config={"payload": {"ref": "${artifact_version_string}"}})
    workers.start()

    # A burst of events; at random points of it one worker process or the whole
    # cluster is SIGKILLed.
    kills = rng.sample(range(10, EVENTS - 10), KILLS_IN_BURST)
    whole = set(kills[::2])
    started = time.monotonic()
    for n in range(EVENTS):
        r = member_api.post("/teams/acme/projects/mnist/artifacts",
                            json={"name": f"a{n}", "type": "model", "digest": f"d{n}"})
        assert r.status_code == 201, r.content
        if n in kills:
            time.sleep(rng.uniform(0.0, 0.5))
            if n in whole:
                workers.kill_and_restart()
            else:
                workers.kill_a_worker()
    # Once more while deliveries are being sent: the tail's, answered slowly.
    receiver.wait_for(EVENTS, timeout=120)
    receiver.pace = TAIL_ANSWER_SECONDS
    for n in range(EVENTS, EVENTS + TAIL):
        r = member_api.post("/teams/acme/projects/mnist/artifacts",
                            json={"name": f"a{n}", "type": "model", "digest": f"d{n}"})
        assert r.status_code == 201, r.content
    receiver.wait_for(len(receiver.received()) + 3, timeout=60)
    time.sleep(rng.uniform(0.0, TAIL_ANSWER_SECONDS * 5))
    workers.kill_and_restart()
    receiver.pace = 0.0
    drained = wait_for_the_end(DRAIN_TIMEOUT)
    print(f"{EVENTS + TAIL} events, {KILLS} kills: done {time.monotonic() - started:.1f}s "
          f"after the first event ({drained:.1f}s after the last kill)")

    slowest_event = max(e.processed_at - e.created_at for e in Event.objects.all())
    slowest = max(e.finished_at - e.created_at for e in Execution.objects.all())
    print(f"slowest event processed after {slowest_event.total_seconds():.1f}s, slowest "
          f"execution finished {slowest.total_seconds():.1f}s after it was created")

    # Every event was processed once and every execution delivered and finished.
    assert Event.objects.filter(type="CREATE_ARTIFACT", processed_at__isnull=False).count() \
        == EVENTS + TAIL
    executions = list(Execution.objects.values_list("webhook_id", "status"))
    assert len(executions) == EVENTS + TAIL
    assert {status for _, status in executions} == {"finished"}, state()
    # Bookkeeping exactly once: every execution has exactly the attempts it counts.
    assert not Execution.objects.annotate(n=Count("attempts")).exclude(
        n=F("attempt_count")).exists()

    # At the receiver: nothing lost, nothing unknown, duplicates only as re-sends.
    got = receiver.received("/chaos")
    by_id: dict[str, list[bytes]] = {}
    for request in got:
        by_id.setdefault(request.headers["webhook-id"], []).append(request.body)
    assert set(by_id) == {webhook_id for webhook_id, _ in executions}
    assert {r.json()["ref"] for r in got} == {
        f"acme/mnist/a{n}:v0" for n in range(EVENTS + TAIL)}
    duplicates = len(got) - len(by_id)
    print(f"{len(got)} requests, {len(by_id)} messages, {duplicates} duplicate(s)")
    for bodies in by_id.values():
        assert len(set(bodies)) == 1  # a re-send is the same message
    assert duplicates <= KILLS


def test_a_delivery_interrupted_by_a_kill_is_sent_again_when_its_claim_runs_out(
    workers: Workers, team: Team, member_api: Any
) -> None:
    lease = sum(float(WORKER_ENV[k]) for k in (
        "BEACON_WEBHOOK_CONNECT_TIMEOUT", "BEACON_WEBHOOK_READ_TIMEOUT", "BEACON_CLAIM_MARGIN"))
    with StallingReceiver() as receiver:
        receiver.stalled.add("/slow")
        project = Project.objects.create(team=team, name="mnist")
        hook = make_webhook(team, receiver.url("/slow"), name="slow")
        make_automation(project, hook, event_type="CREATE_ARTIFACT", name="to-slow")
        workers.start()
        r = member_api.post("/teams/acme/projects/mnist/artifacts",
                            json={"name": "a", "type": "model", "digest": "d"})
        assert r.status_code == 201, r.content

        # The worker is killed while the receiver holds the request.
        [first] = receiver.wait_for(1, path="/slow", timeout=60)
        workers.kill_and_restart()
        receiver.release.set()
        second = receiver.wait_for(2, path="/slow", timeout=lease + 60)[1]
        wait_for_the_end(timeout=30)

    waited = second.at - first.at
    print(f"\nsent again {waited:.1f}s after the interrupted send (claim: {lease:.0f}s)")
    assert lease - 1 <= waited < lease + 5
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    [execution] = Execution.objects.all()
    assert (execution.status, execution.attempt_count) == ("finished", 1)
