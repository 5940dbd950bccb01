"""LTTB downsampling: bounded, keeps the ends, the extremes and the line's shape."""

from __future__ import annotations

import math
import random

import pytest

from projects.lttb import downsample, lttb


def line(n: int) -> tuple[list[float], list[float]]:
    xs = [float(i) for i in range(n)]
    return xs, [math.sin(i / 50) for i in range(n)]


def test_short_series_are_kept_whole() -> None:
    xs, ys = line(10)
    assert lttb(xs, ys, 10) == list(range(10))
    assert downsample(xs, ys, 1000) == list(range(10))
    assert downsample([], [], 100) == []


@pytest.mark.parametrize("n, threshold", [(1000, 3), (1000, 100), (100_000, 1000), (12, 11)])
def test_output_is_bounded_ascending_and_keeps_first_and_last(n: int, threshold: int) -> None:
    xs, ys = line(n)
    kept = lttb(xs, ys, threshold)
    assert len(kept) == threshold
    assert kept[0] == 0 and kept[-1] == n - 1
    assert kept == sorted(set(kept))
    thinned = downsample(xs, ys, max(threshold, 5))
    assert len(thinned) <= max(threshold, 5)
    assert thinned[0] == 0 and thinned[-1] == n - 1
    assert thinned == sorted(set(thinned))


def test_a_lone_spike_and_dip_survive_thinning() -> None:
    rng = random.Random(7)
    xs = [float(i) for i in range(50_000)]
    ys = [rng.uniform(-0.01, 0.01) for _ in xs]
    ys[12_345] = 40.0
    ys[33_333] = -25.0
    kept = downsample(xs, ys, 100)
    assert 12_345 in kept and 33_333 in kept
    assert len(kept) <= 100


def test_extremes_are_kept_even_where_lttb_would_drop_them() -> None:
    # Two maxima in one bucket: LTTB keeps one point per bucket, downsample both extremes.
    xs = [float(i) for i in range(1000)]
    ys = [0.0] * 1000
    ys[500], ys[501] = 10.0, -10.0
    kept = downsample(xs, ys, 20)
    assert {500, 501} <= set(kept)
    assert len(kept) <= 20


def test_the_kept_points_follow_the_shape() -> None:
    xs, ys = line(10_000)
    kept = downsample(xs, ys, 500)
    # Linear interpolation between kept points stays close to every original point.
    worst = 0.0
    for a, b in zip(kept, kept[1:], strict=False):
        for i in range(a, b + 1):
            t = (xs[i] - xs[a]) / (xs[b] - xs[a])
            worst = max(worst, abs(ys[a] + t * (ys[b] - ys[a]) - ys[i]))
    assert worst < 0.05


def test_bad_arguments_are_refused() -> None:
    xs, ys = line(100)
    with pytest.raises(ValueError):
        lttb(xs, ys[:-1], 10)
    with pytest.raises(ValueError):
        lttb(xs, ys, 2)
    with pytest.raises(ValueError):
        downsample(xs, ys, 4)
