"""LockWatch on a real multiprocessing queue, its read lock taken as a holder would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from multiprocessing import get_context
from multiprocessing.queues import Queue
from typing import Any

import pytest

from automations.queue_locks import LockWatch

STUCK = 10.0


@pytest.fixture
def queue() -> Iterator[Queue[Any]]:
    q: Queue[Any] = get_context("fork").Queue()
    yield q
    q.close()


def held_with_data(queue: Queue[Any]) -> None:
    """A holder took the read lock, then a task arrived that it never reads."""
    queue._rlock.acquire()  # type: ignore[attr-defined]
    queue.put("task")
    deadline = time.monotonic() + 30
    while not queue._reader.poll(0.1):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the feeder thread never wrote the task"


def lock_is_free(queue: Queue[Any]) -> bool:
    lock = queue._rlock  # type: ignore[attr-defined]
    if lock.acquire(block=False):
        lock.release()
        return True
    return False


def test_a_lock_held_with_data_waiting_after_a_death_is_released(queue: Queue[Any]) -> None:
    watch = LockWatch(queue, "task", stuck_after=STUCK)
    start = watch.free_at
    held_with_data(queue)
    death = start + 1

    assert not watch.check(start + 2, death)  # stuck from now on
    assert not watch.check(start + 2 + STUCK - 0.5, death)
    assert watch.check(start + 2 + STUCK, death)

    assert lock_is_free(queue)
    assert queue.get(timeout=5) == "task"


def test_no_death_since_the_lock_was_free_leaves_it_held(queue: Queue[Any]) -> None:
    watch = LockWatch(queue, "task", stuck_after=STUCK)
    start = watch.free_at
    held_with_data(queue)

    assert not watch.check(start + 1, None)
    assert not watch.check(start + 1 + STUCK * 3, None)
    assert not watch.check(start + 1 + STUCK * 4, start - 1)  # died before: another holder

    assert not lock_is_free(queue)
    queue._rlock.release()  # type: ignore[attr-defined]


def test_a_holder_waiting_for_data_is_left_alone(queue: Queue[Any]) -> None:
    watch = LockWatch(queue, "task", stuck_after=STUCK)
    start = watch.free_at
    queue._rlock.acquire()  # type: ignore[attr-defined]

    for seconds in (1, STUCK, STUCK * 5):
        assert not watch.check(start + seconds, start + 0.5)

    assert not lock_is_free(queue)
    queue._rlock.release()  # type: ignore[attr-defined]


def test_a_free_lock_moves_the_mark(queue: Queue[Any]) -> None:
    watch = LockWatch(queue, "task", stuck_after=STUCK)
    now = watch.free_at + 5

    assert not watch.check(now, None)

    assert watch.free_at == now and watch.stuck_since is None
