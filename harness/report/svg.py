"""Line charts as inline SVG text: no library, no script needed to see them.

Every chart shares the run's time axis (seconds from the start of load) so charts stacked
on a page line up: fault windows are shaded bands, restarts are vertical lines, and an
objective's bound is a dashed horizontal line. Each line's points are also written to a
``data-series`` attribute as JSON, which the page's small script reads to show the
values under the pointer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from harness.report.series import Series

WIDTH, HEIGHT = 900, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 30
PALETTE = ("#1f77b4", "#d62728", "#9467bd", "#2ca02c", "#ff7f0e", "#8c564b", "#17becf")


@dataclass(frozen=True)
class Band:
    """A shaded window of the x axis, such as a fault in place."""

    start: float
    end: float
    label: str


@dataclass(frozen=True)
class VLine:
    """A vertical mark at one moment, such as a replica restart."""

    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """What one chart shows; ``key`` names it in the page (``data-chart``)."""

    key: str
    title: str
    unit: str
    series: Sequence[Series]
    x_max: float
    bands: Sequence[Band] = ()
    marks: Sequence[VLine] = ()
    threshold: float | None = None
    threshold_label: str = ""
    colors: Sequence[str] = field(default=PALETTE)


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def format_seconds(seconds: float) -> str:
    """Axis label for a time offset: ``45s``, or ``2:30`` from two minutes on."""
    if seconds < 120:
        return f"{seconds:g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _format_tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to pixels."""

    x_max: float
    y_max: float

    def x(self, value: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * min(max(value, 0.0), self.x_max) / self.x_max

    def y(self, value: float) -> float:
        inner = HEIGHT - TOP - BOTTOM
        return TOP + inner * (1 - min(max(value, 0.0), self.y_max) / self.y_max)


def _y_max(chart: Chart) -> float:
    highest = max((max(s.values, default=0.0) for s in chart.series), default=0.0)
    if chart.threshold is not None:
        highest = max(highest, chart.threshold)
    step = nice_step(highest * 1.05 if highest > 0 else 1.0)
    return max(step * math.ceil(highest * 1.05 / step), step)


def _path(series: Series, frame: _Frame) -> str:
    """An SVG path; a gap (None) lifts the pen so missing seconds are not bridged."""
    parts: list[str] = []
    pen_down = False
    for x, y in series.points:
        if y is None or not math.isfinite(y):
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{frame.x(x):.1f},{frame.y(y):.1f}")
        pen_down = True
    return " ".join(parts)


def _axes(chart: Chart, frame: _Frame) -> list[str]:
    out: list[str] = []
    y_step = nice_step(frame.y_max)
    for i in range(round(frame.y_max / y_step) + 1):
        value = i * y_step
        y = frame.y(value)
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_format_tick(value)}</text>"
        )
    x_step = nice_step(frame.x_max, 8)
    for i in range(int(frame.x_max // x_step) + 1):
        x = frame.x(i * x_step)
        out.append(
            f'<text class="tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{format_seconds(i * x_step)}</text>"
        )
    out.append(f'<text class="unit" x="4" y="{TOP - 10}">{escape(chart.unit)}</text>')
    return out


def _overlays(chart: Chart, frame: _Frame) -> list[str]:
    out: list[str] = []
    bottom = HEIGHT - BOTTOM
    for band in chart.bands:
        x0, x1 = frame.x(band.start), frame.x(band.end)
        out.append(
            f'<rect class="fault-window" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{bottom - TOP}"><title>{escape(band.label)}</title></rect>'
        )
        out.append(
            f'<text class="band-label" x="{x0 + 4:.1f}" y="{TOP + 12}">{escape(band.label)}</text>'
        )
    for mark in chart.marks:
        x = frame.x(mark.x)
        out.append(
            f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}">'
            f"<title>{escape(mark.label)}</title></line>"
        )
    if chart.threshold is not None:
        y = frame.y(chart.threshold)
        out.append(
            f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"><title>{escape(chart.threshold_label)}</title></line>'
        )
    return out


def _legend(chart: Chart) -> list[str]:
    # The legend starts after the unit label, which sits at the left edge.
    out, x = [], max(LEFT, 16 + 7 * len(chart.unit))
    for i, series in enumerate(chart.series):
        color = chart.colors[i % len(chart.colors)]
        out.append(
            f'<rect x="{x}" y="8" width="10" height="10" fill="{color}"/>'
            f'<text class="legend" x="{x + 14}" y="17">{escape(series.label)}</text>'
        )
        x += 24 + 7 * len(series.label)
    if chart.threshold is not None and chart.threshold_label:
        out.append(
            f'<text class="legend" x="{x}" y="17">- - {escape(chart.threshold_label)}</text>'
        )
    return out


def _round(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 3)


def render_chart(chart: Chart) -> str:
    """The chart as one ``<svg>`` element, sized by its viewBox to fit any width."""
    frame = _Frame(max(chart.x_max, 1.0), _y_max(chart))
    body = _axes(chart, frame) + _overlays(chart, frame)
    for i, series in enumerate(chart.series):
        color = chart.colors[i % len(chart.colors)]
        body.append(
            f'<path class="series" d="{_path(series, frame)}" stroke="{color}">'
            f"<title>{escape(series.label)}</title></path>"
        )
    body += _legend(chart)
    data = json.dumps(
        {
            "x": [LEFT, WIDTH - RIGHT, frame.x_max],
            "unit": chart.unit,
            "lines": [
                {"label": s.label, "points": [[round(x, 2), _round(y)] for x, y in s.points]}
                for s in chart.series
            ],
        },
        separators=(",", ":"),
    )
    return (
        f'<svg class="chart" data-chart="{escape(chart.key)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(chart.title)}" data-series="{escape(data)}">'
        + "".join(body)
        + "</svg>"
    )
