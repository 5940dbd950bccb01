"""Durations in settings: ``432000`` (seconds), or a number with a unit, ``5d``, ``36h``,
``90m``, ``30s``, ``2w``."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_duration = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(text: str, name: str = "duration") -> timedelta:
    """``text`` as a positive duration; ImproperlyConfigured names ``name`` otherwise."""
    found = _duration.match(str(text))
    if found is None or float(found.group(1)) <= 0:
        raise ImproperlyConfigured(
            f"{name} must be a positive number of seconds or a number with a unit "
            f"(s, m, h, d, w), e.g. 432000 or 5d; got {text!r}."
        )
    return timedelta(seconds=float(found.group(1)) * UNITS[(found.group(2) or "s").lower()])
