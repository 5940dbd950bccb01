"""A qcluster that survives a process killed while it waits for work.

django-q2's workers take tasks from a ``multiprocessing.Queue``, and its monitor
takes results from another. A process waiting in ``Queue.get()`` holds the queue's
read lock while it blocks on the pipe. When that process is SIGKILLed (the kernel's
OOM killer, an operator), the lock is never released: the sentinel starts a new
process, but it and every other one wait for the lock forever, and the cluster runs
no task again until it is restarted (django-q2 issue #23, open since django-q #200).
Beacon's events and deliveries go on through the workers' pollers; test actions,
scheduled tasks and results would not.

:class:`GuardedSentinel` is django-q2's sentinel plus a thread that releases such a
lock. A lock is released only when all of these hold, checked every
``CHECK_EVERY`` seconds:

- a process of the cluster died (the sentinel reincarnated it) after the lock was
  last seen free, so a dead process may be its holder;
- the lock is held, and the pipe has had data to read for ``STUCK_AFTER`` seconds
  all along. A living holder is blocked reading that pipe and would have taken the
  data at once, so the holder is the dead process.

The lock is a plain semaphore, which any process may release. The guard cannot
mend a queue whose holder died half-way through reading a message (that window is
a few microseconds); such a cluster needs a restart, as before.
"""

from __future__ import annotations

import logging
import threading
import time
from multiprocessing.queues import Queue
from typing import Any

from django_q import cluster as django_q_cluster

log = logging.getLogger(__name__)

CHECK_EVERY = 1.0
STUCK_AFTER = 10.0


class LockWatch:
    """Watches the read lock of one queue; see the module's docstring."""

    def __init__(self, queue: Queue[Any], name: str, stuck_after: float = STUCK_AFTER) -> None:
        self.queue = queue
        self.name = name
        self.stuck_after = stuck_after
        self.free_at = time.monotonic()
        self.stuck_since: float | None = None

    def check(self, now: float, last_death: float | None) -> bool:
        """Release the lock when its holder must be dead; True when it did."""
        lock = self.queue._rlock  # type: ignore[attr-defined]
        if lock.acquire(block=False):
            lock.release()
            self.free_at, self.stuck_since = now, None
            return False
        if not self.queue._reader.poll(0):  # type: ignore[attr-defined]
            self.stuck_since = None  # held by a process waiting for data: normal
            return False
        if self.stuck_since is None:
            self.stuck_since = now
        if now - self.stuck_since < self.stuck_after:
            return False
        if last_death is None or last_death < self.free_at:
            return False  # no process died while it was held: leave it
        lock.release()
        log.error(
            "the %s queue's read lock was held by a process that died waiting for work; "
            "released it so the cluster takes work again", self.name,
        )
        self.free_at, self.stuck_since = now, None
        return True


class GuardedSentinel(django_q_cluster.Sentinel):
    """django-q2's sentinel, with a thread that frees the read lock of a queue whose
    holder died (see the module's docstring)."""

    last_death: float | None = None

    def start(self) -> None:
        watches = [LockWatch(self.task_queue, "task"), LockWatch(self.result_queue, "result")]
        threading.Thread(target=self._watch_locks, args=(watches,), daemon=True,
                         name="beacon-queue-locks").start()
        super().start()

    def reincarnate(self, process: Any) -> None:
        self.last_death = time.monotonic()
        super().reincarnate(process)

    def _watch_locks(self, watches: list[LockWatch]) -> None:
        while not self.stop_event.wait(CHECK_EVERY):
            now = time.monotonic()
            for watch in watches:
                try:
                    watch.check(now, self.last_death)
                except Exception:  # the guard must never take the sentinel down
                    log.exception("checking the %s queue's read lock failed", watch.name)


def install() -> None:
    """Make ``qcluster`` start :class:`GuardedSentinel` (``Cluster.start`` looks the
    sentinel class up in its module when it starts it)."""
    django_q_cluster.Sentinel = GuardedSentinel  # type: ignore[misc]
