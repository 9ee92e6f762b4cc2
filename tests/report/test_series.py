"""Chart series: per-second points, merged percentiles, long runs, gaps and stack metrics."""

from __future__ import annotations

import pytest

from harness.load.stats import new_histogram, parse_lines
from harness.report.series import (
    Series,
    count_at_or_above,
    load_series,
    percentiles_ms,
    stack_metric_charts,
)
from harness.report.svg import Chart, render_chart

from .runs import T0, Load, stats_lines


def test_each_second_is_one_point_at_its_midpoint() -> None:
    stats = parse_lines(stats_lines(Load(seconds=10, fault=None)))

    series = load_series(stats, T0, 10.0)

    assert series.step == 1
    assert [x for x, _ in series.throughput.points] == [s + 0.5 for s in range(10)]
    assert {y for _, y in series.throughput.points} == {40.0}
    assert {y for _, y in series.users.points} == {40.0}


def test_a_long_run_is_drawn_with_multi_second_points() -> None:
    stats = parse_lines(stats_lines(Load(seconds=100, fault=(40.0, 60.0))))

    series = load_series(stats, T0, 100.0, max_points=10)

    assert series.step == 10 and len(series.p95.points) == 10
    p95 = dict(series.p95.points)
    assert p95[45.0] == pytest.approx(900, rel=1e-3)
    assert p95[5.0] == pytest.approx(20, rel=1e-3)


def test_seconds_without_requests_are_gaps_in_the_lines() -> None:
    lines = [r for r in stats_lines(Load(seconds=10, fault=None)) if r.get("t") != int(T0) + 4]

    series = load_series(parse_lines(lines), T0, 10.0)
    svg = render_chart(Chart("latency", "latency", "ms", [series.p95], 10.0))

    assert dict(series.p95.points)[4.5] is None
    assert dict(series.throughput.points)[4.5] == 0.0
    path = svg.split('class="series" d="')[1].split('"')[0]
    assert path.count("M") == 2  # the pen lifts over the gap


def test_counting_values_at_or_above_a_bound() -> None:
    histogram = new_histogram()
    for micros in (100_000, 499_000, 500_000, 501_000, 2_000_000):
        histogram.record_value(micros)

    assert count_at_or_above(histogram, 500_000) == 3
    assert count_at_or_above(histogram, 3_000_000) == 0
    assert count_at_or_above(new_histogram(), 1) == 0


def test_stack_metrics_are_read_in_each_accepted_shape() -> None:
    rows = [
        {"t": T0 + 1, "source": "booking-1", "metrics": {"pool_in_use": 5, "breaker_open": False}},
        {"t": T0 + 2, "replica": "booking-2", "name": "pool_in_use", "value": 7},
        {"t": T0 + 3, "pool_waiting": 2},
        {"t": "late", "pool_waiting": 3},
    ]

    charts = {c.name: c for c in stack_metric_charts(rows, T0)}

    assert sorted(charts) == ["breaker_open", "pool_in_use", "pool_waiting"]
    assert [s.label for s in charts["pool_in_use"].series] == ["booking-1", "booking-2"]
    assert charts["pool_waiting"].series[0].points == ((3.0, 2.0),)
    assert charts["breaker_open"].series[0] == Series("booking-1", ((1.0, 0.0),))


def test_fast_percentiles_equal_hdrhistograms_own() -> None:
    histogram = new_histogram()
    for i in range(1, 2000):
        histogram.record_value(i * i * 37 % 5_000_000 + 1)

    wanted = (0.1, 50.0, 95.0, 99.0, 99.99, 100.0)
    expected = [histogram.get_value_at_percentile(p) / 1000.0 for p in wanted]

    assert percentiles_ms(histogram, wanted) == expected
