"""A real qcluster whose only worker and whose monitor are SIGKILLed while they wait
for work, each holding its queue's read lock: the cluster still runs the next task
and saves its result (django-q2 alone waits for the dead holders forever).
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.qcluster import QCluster, running_qcluster

pytestmark = pytest.mark.integration

DEADLINE = 120.0


def waiting_on_a_pipe(pid: int) -> bool:
    """The process's main thread is blocked reading a pipe: inside ``Queue.get()``,
    holding the queue's read lock."""
    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text()
        syscall = Path(f"/proc/{pid}/syscall").read_text().split()[:1]
    except OSError:
        return False
    # Kernels that hide wchan show "0" there; the syscall is then read(2), number 0.
    return "pipe" in wchan or (wchan == "0" and syscall == ["0"])


def wait_for(condition: Any, what: str, cluster: QCluster) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {DEADLINE}s:\n{cluster.log[-3000:]}")


def pid_of(cluster: QCluster, role: str) -> int:
    found = re.search(rf"{role} at (\d+)", cluster.log)
    assert found, cluster.log[-2000:]
    return int(found.group(1))


def test_a_cluster_takes_work_again_after_its_waiting_processes_are_killed(
    transactional_db: Any,
) -> None:
    from django_q.models import Task
    from django_q.tasks import async_task

    with running_qcluster(env={"BEACON_WORKERS": "1"}) as cluster:
        wait_for(lambda: "monitoring at" in cluster.log, "the monitor", cluster)
        worker, monitor = pid_of(cluster, "ready for work"), pid_of(cluster, "monitoring")
        wait_for(lambda: waiting_on_a_pipe(worker) and waiting_on_a_pipe(monitor),
                 "the worker and the monitor waiting for work", cluster)

        os.kill(worker, signal.SIGKILL)
        os.kill(monitor, signal.SIGKILL)
        wait_for(lambda: "reincarnated worker" in cluster.log
                 and "reincarnated monitor" in cluster.log, "new processes", cluster)

        task_id = async_task("math.floor", 2.5)
        wait_for(lambda: Task.objects.filter(id=task_id, success=True).exists(),
                 "the task's result", cluster)

        assert Task.objects.get(id=task_id).result == 2
        assert "task queue's read lock was held by a process that died" in cluster.log
        assert "result queue's read lock was held by a process that died" in cluster.log
