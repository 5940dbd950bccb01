"""Server-side SVG line charts of a run's metric history (no JavaScript, no CDN)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from projects.models import encode_number

Threshold = float | tuple[float, str]
Marker = int | tuple[int, str]

MAX_POINTS = 1500
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 12, 26


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _label_pairs(items: Iterable[float | int | tuple]) -> list[tuple[float, str]]:
    pairs = []
    for item in items:
        if isinstance(item, tuple):
            value, label = item
        else:
            value, label = item, ""
        pairs.append((float(value), str(label)))
    return pairs


def _downsample(points: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    if len(points) <= MAX_POINTS:
        return list(points)
    stride = math.ceil(len(points) / MAX_POINTS)
    kept = list(points[::stride])
    if kept[-1] != points[-1]:
        kept.append(points[-1])
    return kept


def line_chart(
    points: Sequence[tuple[int, float]],
    width: int = 640,
    height: int = 200,
    thresholds: Iterable[Threshold] = (),
    markers: Iterable[Marker] = (),
    title: str = "",
) -> SafeString:
    """An SVG line chart of ``(step, value)`` points, as safe markup.

    Non-finite values (NaN, ±Infinity) break the line into segments and get a
    red tick at their step. ``thresholds`` are values (or ``(value, label)``)
    drawn as dashed horizontal lines; ``markers`` are steps (or
    ``(step, label)``) drawn as vertical lines, e.g. where an automation fired.
    The y axis is labelled with its min and max, the x axis with the first and
    last step."""
    thr = _label_pairs(thresholds)
    mks = _label_pairs(markers)
    label = escape(title or "metric")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="linechart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label} chart">'
        f"<title>{label}</title>"
    )
    finite = [(s, v) for s, v in points if math.isfinite(v)]
    if not points:
        return mark_safe(
            head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            'class="chart-empty">no data</text></svg>'
        )
    steps = [s for s, _ in points] + [s for s, _ in mks]
    x_min, x_max = min(steps), max(steps)
    values = [v for _, v in finite] + [v for v, _ in thr]
    y_min, y_max = (min(values), max(values)) if values else (0.0, 1.0)
    if y_min == y_max:
        y_min, y_max = y_min - 1, y_max + 1
    if x_min == x_max:
        x_min, x_max = x_min - 1, x_max + 1
    left, right = PAD_LEFT, width - PAD_RIGHT
    top, bottom = PAD_TOP, height - PAD_BOTTOM

    def x(step: float) -> float:
        return round(left + (step - x_min) / (x_max - x_min) * (right - left), 2)

    def y(value: float) -> float:
        return round(bottom - (value - y_min) / (y_max - y_min) * (bottom - top), 2)

    parts = [head]
    # Axes with min/max labels.
    parts.append(
        f'<g class="axes" stroke="#8c959f" stroke-width="1">'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/></g>'
    )
    parts.append(
        f'<g class="labels" font-size="14" fill="#5b6470" font-family="sans-serif">'
        # Inside the plot area, so a larger font (phones, see beacon.css) is never clipped.
        f'<text class="y-max" x="{left + 4}" y="{top + 10}">{_fmt(y_max)}</text>'
        f'<text class="y-min" x="{left + 4}" y="{bottom - 4}">{_fmt(y_min)}</text>'
        f'<text class="x-min" x="{left}" y="{height - 8}" text-anchor="start">{x_min}</text>'
        f'<text class="x-max" x="{right}" y="{height - 8}" text-anchor="end">{x_max}</text></g>'
    )
    for value, text in thr:
        name = escape(text or f"threshold {_fmt(value)}")
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{y(value)}" x2="{right}" y2="{y(value)}" '
            f'stroke="#9a6700" stroke-width="1.2" stroke-dasharray="5 4">'
            f"<title>{name}</title></line>"
        )
    for step, text in mks:
        name = escape(text or f"step {int(step)}")
        parts.append(
            f'<line class="marker" x1="{x(step)}" y1="{top}" x2="{x(step)}" y2="{bottom}" '
            f'stroke="#8250df" stroke-width="1.2"><title>{name}</title></line>'
        )
    # The line: one polyline per run of finite values; non-finite values are gaps.
    segment: list[str] = []
    segments: list[list[str]] = []
    for step, value in _downsample(points):
        if math.isfinite(value):
            segment.append(f"{x(step)},{y(value)}")
        else:
            if segment:
                segments.append(segment)
            segment = []
    if segment:
        segments.append(segment)
    # Every non-finite value gets its tick, even where the line was thinned out.
    bad_all = [(s, v) for s, v in points if not math.isfinite(v)]
    for seg in segments:
        if len(seg) == 1:
            cx, cy = seg[0].split(",")
            parts.append(f'<circle class="point" cx="{cx}" cy="{cy}" r="2.5" fill="#1f4fd1"/>')
        else:
            parts.append(
                f'<polyline class="series" fill="none" stroke="#1f4fd1" stroke-width="1.6" '
                f'points="{" ".join(seg)}"/>'
            )
    for step, value in bad_all:
        parts.append(
            f'<line class="nonfinite" x1="{x(step)}" y1="{bottom - 8}" x2="{x(step)}" '
            f'y2="{bottom}" stroke="#cf222e" stroke-width="2">'
            f"<title>{encode_number(value)} at step {step}"
            f"</title></line>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every interpolated text is escaped
