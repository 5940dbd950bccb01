"""API rate limits, counted in Django's cache (shared by every web process).

Two limits, both settings (README, "Configuration"):

- ``BEACON_API_RATE`` requests per minute per API key (bursts beyond it answer 429);
- ``BEACON_API_BAD_KEY_LIMIT`` wrong API keys per client address per
  ``BEACON_API_BAD_KEY_PERIOD`` seconds; past it every key from that address answers
  429 until the period ends, without being checked (so guessing learns nothing).

Fixed windows: a counter per (limit, who, window) that expires with its window.
``Retry-After`` is the time left in the window. Counting is best effort: a cache
that fails (Redis down) lets requests through rather than refusing them all.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    scope: str
    count: int
    period: int  # seconds

    def _key(self, who: str, now: float) -> tuple[str, float]:
        window = int(now // self.period)
        return f"beacon:rl:{self.scope}:{who}:{window}", (window + 1) * self.period - now

    def hit(self, who: str) -> int | None:
        """Count one request of ``who``; the seconds to wait when it is over the limit."""
        if self.count <= 0:  # 0 turns the limit off
            return None
        key, left = self._key(who, time.time())
        try:
            count = _count(key, timeout=self.period + 1)
        except Exception as exc:  # the cache is down: do not refuse every request
            log.warning("rate limit %s not counted (%s: %s)", self.scope, type(exc).__name__, exc)
            return None
        return max(1, math.ceil(left)) if count > self.count else None

    def reached(self, who: str) -> int | None:
        """The seconds to wait when ``who`` has used up the limit already (counts nothing)."""
        if self.count <= 0:
            return None
        key, left = self._key(who, time.time())
        try:
            count = cache.get(key, 0)
        except Exception as exc:
            log.warning("rate limit %s not read (%s: %s)", self.scope, type(exc).__name__, exc)
            return None
        return max(1, math.ceil(left)) if count >= self.count else None


def _count(key: str, timeout: int) -> int:
    """Add one to the counter ``key``, creating it (expiring after ``timeout``
    seconds) for the window's first request; the count."""
    try:
        return cache.incr(key)
    except ValueError:  # no counter yet
        if cache.add(key, 1, timeout=timeout):
            return 1
        return cache.incr(key)  # another process created it first


def key_rate() -> Limit:
    return Limit("key", settings.BEACON_API_RATE, 60)


def bad_key_limit() -> Limit:
    return Limit("badkey", settings.BEACON_API_BAD_KEY_LIMIT, settings.BEACON_API_BAD_KEY_PERIOD)


def client_address(request: HttpRequest) -> str:
    """The address wrong keys are counted against: the socket peer (``REMOTE_ADDR``);
    ``X-Forwarded-For`` is not trusted (any client could send one)."""
    return request.META.get("REMOTE_ADDR") or "unknown"
