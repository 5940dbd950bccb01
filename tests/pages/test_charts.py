"""line_chart: a pure function from points to SVG markup."""

from __future__ import annotations

import math
import re

from projects.charts import line_chart


def polylines(svg: str) -> list[list[tuple[float, float]]]:
    return [
        [tuple(map(float, p.split(","))) for p in m.split()]  # type: ignore[misc]
        for m in re.findall(r'<polyline class="series"[^>]* points="([^"]+)"', svg)
    ]


def test_a_finite_series_is_one_line_with_min_and_max_labels() -> None:
    svg = line_chart([(0, 2.0), (1, 1.0), (2, 0.5)], width=300, height=100)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(polylines(svg)) == 1 and len(polylines(svg)[0]) == 3
    assert '<text class="y-max"' in svg and ">2</text>" in svg
    assert ">0.5</text>" in svg  # y min
    assert 'class="x-min"' in svg and 'class="x-max"' in svg
    assert 'class="nonfinite"' not in svg


def test_larger_values_are_drawn_higher() -> None:
    (line,) = polylines(line_chart([(0, 2.0), (1, 1.0)]))
    assert line[0][1] < line[1][1]  # SVG y grows downwards
    assert line[0][0] < line[1][0]


def test_non_finite_values_are_gaps_with_red_ticks() -> None:
    points = [(0, 1.0), (1, 2.0), (2, math.nan), (3, 1.5), (4, math.inf), (5, 1.0), (6, 0.8)]
    svg = line_chart(points)
    assert [len(seg) for seg in polylines(svg)] == [2, 2]
    # The lone finite point between NaN and Infinity is a dot, not a line.
    assert svg.count('<circle class="point"') == 1
    assert svg.count('class="nonfinite"') == 2
    assert "NaN at step 2" in svg and "Infinity at step 4" in svg
    assert 'stroke="#cf222e"' in svg


def test_only_non_finite_values_still_render_ticks() -> None:
    svg = line_chart([(0, math.nan), (1, -math.inf)])
    assert polylines(svg) == []
    assert svg.count('class="nonfinite"') == 2
    assert "-Infinity at step 1" in svg


def test_thresholds_are_dashed_lines_inside_the_value_range() -> None:
    thresholds = [5.0, (1.5, "avg(loss, 5) > 1.5")]
    svg = line_chart([(0, 1.0), (1, 2.0)], height=200, thresholds=thresholds)
    lines = re.findall(r'<line class="threshold" x1="[^"]+" y1="([^"]+)"[^>]*><title>([^<]+)', svg)
    assert [title for _, title in lines] == ["threshold 5", "avg(loss, 5) &gt; 1.5"]
    assert svg.count("stroke-dasharray") == 2
    assert ">5</text>" in svg  # the y range grew to include the threshold
    y5, y15 = (float(y) for y, _ in lines)
    assert y5 < y15


def test_markers_are_vertical_lines_at_their_steps() -> None:
    svg = line_chart([(0, 1.0), (10, 2.0)], width=400, markers=[5, (10, "loss alert fired")])
    marks = re.findall(r'<line class="marker" x1="([^"]+)" y1="[^"]+" x2="([^"]+)"', svg)
    assert len(marks) == 2
    (x5, x5b), (x10, _) = ((float(a), float(b)) for a, b in marks)
    assert x5 == x5b and x5 < x10
    assert "loss alert fired" in svg and "step 5" in svg


def test_labels_are_escaped() -> None:
    svg = line_chart([(0, 1.0)], title="<script>", markers=[(0, '"><script>')])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


def test_no_points_is_an_empty_chart() -> None:
    svg = line_chart([])
    assert "no data" in svg and "<polyline" not in svg


def test_long_histories_are_thinned_but_keep_the_last_point_and_every_nan() -> None:
    points = [(i, float(i)) for i in range(10_000)]
    points[7777] = (7777, math.nan)
    svg = line_chart(points, width=500)
    drawn = sum(len(seg) for seg in polylines(svg))
    assert drawn < 2000
    assert polylines(svg)[-1][-1][0] == 488.0  # the last step sits at the right edge
    assert "NaN at step 7777" in svg
