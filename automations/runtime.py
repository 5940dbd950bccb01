"""Deliveries inside a worker process: a thread pool and a poller.

A send waits on the network (up to the connect + read timeouts for a receiver that
hangs), so a worker process must not wait with it: each django-q worker process
runs its deliveries on ``BEACON_DELIVERY_THREADS`` threads, and at most
``BEACON_DELIVERY_PER_DESTINATION`` deliveries per integration are in flight
across all workers. A hanging receiver holds a few threads, never a worker, and
the other destinations keep being served.

Each worker process also runs a poller that every ``BEACON_DELIVERY_POLL``
seconds, and as soon as one of its deliveries ends, claims deliveries that are
due (retries at their time, deliveries whose claim ran out because their worker
died, ones whose queued task was lost) and, every ``EVENT_CHECK_EVERY`` seconds,
processes events left unprocessed for 20 s (``tasks.process_lost_events``). The
``deliver`` task queued when an execution is created is only the fast path.

The runtime starts in each worker process when it spawns (django-q's
``post_spawn`` signal, wired in :mod:`automations.apps`). At the worker's exit the
interpreter waits for the sends in flight; the poller is a daemon thread.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from automations import dispatch, recording

log = logging.getLogger(__name__)

# How often a worker's poller looks for lost events (each worker process does).
EVENT_CHECK_EVERY = 10.0
# The longest the poller waits after failures (a database that is down).
MAX_PAUSE = 5.0
# A thread delivers at most this many to one destination in a row (in claims of
# ``BEACON_DELIVERY_BATCH``), then lets the poller share its thread out again.
PIPELINE_MAX = 200


class DeliveryRuntime:
    """The delivery threads and the poller of one worker process."""

    def __init__(self, threads: int, poll: float) -> None:
        self.threads = max(1, threads)
        self.poll_every = poll
        self._pool = ThreadPoolExecutor(max_workers=self.threads,
                                        thread_name_prefix="beacon-delivery")
        self._lock = threading.Lock()
        self._busy = 0
        self._stopped = threading.Event()
        # Set when a delivery ends: its destination may take the next one now.
        self._wake = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def free(self) -> int:
        with self._lock:
            return self.threads - self._busy

    def start(self) -> DeliveryRuntime:
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll_forever, daemon=True,
                                            name="beacon-delivery-poller")
            self._poller.start()
        return self

    def stop(self, wait: bool = True) -> None:
        self._stopped.set()
        self._wake.set()
        self._pool.shutdown(wait=wait)

    def offer(self, execution_id: int) -> str:
        """Claim ``execution_id`` and start sending it on a free thread.

        ``"sending"``, ``"busy"`` (no free thread here: it stays due for a poller),
        or ``"not claimed"`` (not due, another worker's, or its destination is full)."""
        with self._lock:
            if self._busy >= self.threads or self._stopped.is_set():
                return "busy"
            self._busy += 1
        try:
            if not dispatch.claim(execution_id):
                self._done()
                return "not claimed"
            self._pool.submit(self._run, execution_id)
        except RuntimeError:  # the interpreter is shutting down: give the claim back
            self._done()
            dispatch.release(execution_id)
            return "busy"
        except BaseException:
            self._done()
            raise
        return "sending"

    def poll_once(self) -> int:
        """Offer the due deliveries this process has threads for; returns how many started."""
        free = self.free
        if free <= 0:
            return 0
        started = 0
        # More candidates than threads: the pollers of other workers race for the same rows.
        for execution_id in dispatch.due_deliveries(limit=free * 3):
            outcome = self.offer(execution_id)
            if outcome == "sending":
                started += 1
            elif outcome == "busy":
                break
        return started

    def _done(self) -> None:
        with self._lock:
            self._busy -= 1

    def _run(self, execution_id: int) -> None:
        """Deliver ``execution_id``, then the destination's other due executions,
        claimed in batches (:func:`automations.dispatch.claim_batch`) and sent one
        at a time on the same connection, each attempt recorded before the next send,
        up to ``PIPELINE_MAX`` deliveries before the poller shares the thread out again."""
        close_old_connections()
        try:
            recording.without_waiting_for_disk()
            execution = dispatch.deliver_claimed(execution_id)
            integration_id = execution.automation.integration_id
            sent = 1
            while sent < PIPELINE_MAX and not self._stopped.is_set():
                claim = dispatch.claim_batch(integration_id,
                                             min(settings.BEACON_DELIVERY_BATCH,
                                                 PIPELINE_MAX - sent))
                if claim is None:
                    break
                sent += max(1, dispatch.deliver_claim(claim, integration_id, self._stopped))
        except Exception:
            # The claim runs out and the delivery is made again (at-least-once).
            log.exception("delivery of execution %s and its followers failed", execution_id)
        finally:
            connections.close_all()
            self._done()
            self._wake.set()

    def _poll_forever(self) -> None:
        from automations.tasks import process_lost_events

        next_event_check = time.monotonic() + EVENT_CHECK_EVERY
        pause = self.poll_every
        while not self._stopped.is_set():
            self._wake.wait(pause)
            self._wake.clear()
            if self._stopped.is_set():
                break
            try:
                self.poll_once()
                pause = self.poll_every
            except Exception:  # the database restarting, a lock timeout: try again soon
                log.exception("the delivery poller failed; retrying in %.1fs", pause)
                connections.close_all()
                pause = min(MAX_PAUSE, pause * 2)
            if time.monotonic() >= next_event_check:
                next_event_check = time.monotonic() + EVENT_CHECK_EVERY
                try:
                    process_lost_events()
                except Exception:  # the database restarting: try again at the next check
                    log.warning("lost events could not be processed", exc_info=True)


_runtime: DeliveryRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> DeliveryRuntime:
    """This process's runtime, started on first use."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = DeliveryRuntime(
                threads=settings.BEACON_DELIVERY_THREADS, poll=settings.BEACON_DELIVERY_POLL
            ).start()
        return _runtime


def running() -> DeliveryRuntime | None:
    """This process's runtime when it has one (a worker process), else None."""
    return _runtime


def start_in_worker(**kwargs: object) -> None:
    """django-q ``post_spawn`` receiver: a worker process starts its runtime."""
    runtime()
