"""Largest-Triangle-Three-Buckets downsampling (Steinarsson, 2013) of a line's points.

LTTB keeps the points that shape a line: the first and the last, then one per
bucket, the one forming the largest triangle with the point kept before it and
the average of the next bucket. :func:`downsample` also keeps the line's lowest
and highest points, so a spike is never thinned away.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def lttb(xs: Sequence[float], ys: Sequence[float], threshold: int) -> list[int]:
    """The indices (ascending) of at most ``threshold`` points that keep the shape of
    the line through ``(xs[i], ys[i])``; ``xs`` ascending, every value finite.
    Every index when there are no more than ``threshold`` points."""
    n = len(xs)
    if len(ys) != n:
        raise ValueError("xs and ys differ in length")
    if threshold >= n:
        return list(range(n))
    if threshold < 3:
        raise ValueError("LTTB keeps at least 3 points (the first, the last and one between)")
    every = (n - 2) / (threshold - 2)
    kept = [0]
    a = 0
    for bucket in range(threshold - 2):
        # The average of the next bucket (the last point for the last bucket).
        next_start = int((bucket + 1) * every) + 1
        next_end = min(int((bucket + 2) * every) + 1, n)
        size = next_end - next_start
        avg_x = math.fsum(xs[next_start:next_end]) / size
        avg_y = math.fsum(ys[next_start:next_end]) / size
        # The point of this bucket with the largest triangle (a, point, average).
        start = int(bucket * every) + 1
        end = int((bucket + 1) * every) + 1
        ax, ay = xs[a], ys[a]
        dx, dy = ax - avg_x, avg_y - ay
        best, best_area = start, -1.0
        for j in range(start, end):
            area = abs(dx * (ys[j] - ay) + (xs[j] - ax) * dy)
            if area > best_area:
                best, best_area = j, area
        kept.append(best)
        a = best
    kept.append(n - 1)
    return kept


def downsample(xs: Sequence[float], ys: Sequence[float], threshold: int) -> list[int]:
    """Like :func:`lttb`, and the lowest and highest points are always kept: still at
    most ``threshold`` indices (``threshold`` ≥ 5 when thinning), ascending."""
    n = len(xs)
    if threshold >= n:
        return list(range(n))
    if threshold < 5:
        raise ValueError("downsampling keeps at least 5 points")
    lowest = min(range(n), key=ys.__getitem__)
    highest = max(range(n), key=ys.__getitem__)
    kept = set(lttb(xs, ys, threshold - 2))
    kept.update((lowest, highest))
    return sorted(kept)
