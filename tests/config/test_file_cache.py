"""The file cache of a Beacon without Redis (config/cache.py): ``incr`` counts in
place, atomically across processes, and keeps the counter's expiry; the API's rate
limits counted there still refuse a burst."""

from __future__ import annotations

import multiprocessing
import pickle
import time
from pathlib import Path
from typing import Any

import pytest

from config.cache import FileCache
from tests.support.api import assert_error


def file_cache(directory: Path) -> FileCache:
    return FileCache(str(directory), {})


def expiry_of(cache: FileCache, key: str) -> float:
    with open(cache._key_to_file(key), "rb") as f:
        return pickle.load(f)


def test_incr_counts_in_place_and_keeps_the_expiry(tmp_path: Path) -> None:
    cache = file_cache(tmp_path)
    cache.set("n", 1, timeout=60)
    expires = expiry_of(cache, "n")
    inode = Path(cache._key_to_file("n")).stat().st_ino

    counts = [cache.incr("n") for _ in range(300)]  # 300 needs a longer pickle than 1

    assert counts == list(range(2, 302))
    assert cache.get("n") == 301
    assert cache.incr("n", 10) == 311
    assert expiry_of(cache, "n") == expires
    assert Path(cache._key_to_file("n")).stat().st_ino == inode  # rewritten, not replaced


def test_incr_of_a_missing_or_expired_key_is_a_value_error(tmp_path: Path) -> None:
    cache = file_cache(tmp_path)
    cache.set("old", 5, timeout=1)
    time.sleep(1.1)

    for key in ("missing", "old"):
        with pytest.raises(ValueError):
            cache.incr(key)
    assert cache.add("old", 1, timeout=60)  # an expired counter starts again
    assert cache.incr("old") == 2


def _count(directory: str, times: int) -> None:
    cache = FileCache(directory, {})
    for _ in range(times):
        cache.incr("shared")


def test_processes_counting_at_once_lose_no_count(tmp_path: Path) -> None:
    # Django's FileBasedCache.incr is a get and a set: two processes lose counts.
    cache = file_cache(tmp_path)
    cache.set("shared", 0, timeout=60)
    fork = multiprocessing.get_context("fork")
    workers = [fork.Process(target=_count, args=(str(tmp_path), 300)) for _ in range(3)]

    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert cache.get("shared") == 900


def test_the_key_rate_is_counted_in_files(
    settings: Any, tmp_path: Path, api_for: Any, member: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "config.cache.FileCache",
                                   "LOCATION": str(tmp_path)}}
    settings.BEACON_API_RATE = 5
    api = api_for(member)

    answers = [api.get("/viewer").status_code for _ in range(5)]

    assert answers == [200] * 5
    assert_error(api.get("/viewer"), 429, "rate_limited")
