"""The shared template filters: reltime and num."""

from __future__ import annotations

import math
from datetime import timedelta

from django.utils import timezone

from teams.templatetags.beacon import num, reltime


def test_reltime_is_relative_words_with_the_exact_iso_time() -> None:
    when = timezone.now() - timedelta(minutes=3, seconds=5)
    html = reltime(when)
    iso = when.isoformat(timespec="seconds")
    assert html == f'<time datetime="{iso}" title="{iso}">3\xa0minutes ago</time>'


def test_reltime_of_now_and_of_nothing() -> None:
    assert ">just now</time>" in reltime(timezone.now())
    assert reltime(None) == ""


def test_num_shows_four_significant_digits_and_non_finite_words() -> None:
    assert num(0.123456) == "0.1235"
    assert num(12) == "12"
    assert (num(math.nan), num(math.inf), num(-math.inf)) == ("NaN", "Infinity", "-Infinity")
    assert num("NaN") == "NaN"
