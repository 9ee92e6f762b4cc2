"""Time series for the charts: per-second load statistics laid on the run's timeline.

x values are seconds from the start of load (t0). The recorder files a request under
the whole wall-clock second it started in; a second is drawn at its midpoint and belongs
to the run when that midpoint falls inside it, as in the grader. Percentiles of a point
come from merging that point's histograms of every endpoint, never from averaging
per-endpoint percentiles.

A long run is drawn with points of several seconds each (at most `MAX_POINTS` points),
merging their histograms the same way.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.grading.slis import SUCCESSES
from harness.load.stats import LoadStats, RequestSecond, new_histogram

MAX_POINTS = 1200

Point = tuple[float, "float | None"]


@dataclass(frozen=True)
class Series:
    """One line on a chart: a label and its (x, y) points; y None is a gap."""

    label: str
    points: tuple[Point, ...]

    @property
    def values(self) -> list[float]:
        """The y values that are not gaps."""
        return [y for _, y in self.points if y is not None]


@dataclass(frozen=True)
class LoadSeries:
    """What the load did over time, one point per ``step`` seconds."""

    step: int
    throughput: Series
    error_rate: Series
    p50: Series
    p95: Series
    p99: Series
    users: Series


def _step_for(seconds: int, max_points: int) -> int:
    return max(1, math.ceil(seconds / max_points))


def load_series(
    stats: LoadStats, t0: float, duration: float, *, max_points: int = MAX_POINTS
) -> LoadSeries:
    """Throughput, error rate, p50/p95/p99 and users over the run, for every endpoint."""
    first, last = math.ceil(t0 - 0.5), math.ceil(t0 + duration - 0.5)
    step = _step_for(max(last - first, 1), max_points)
    by_second: dict[int, list[RequestSecond]] = defaultdict(list)
    for record in stats.requests:
        if first <= record.t < last:
            by_second[record.t].append(record)
    users = {u.t: u.users for u in stats.users}

    columns: dict[str, list[Point]] = defaultdict(list)
    for start in range(first, last, step):
        seconds = range(start, min(start + step, last))
        x = (seconds[0] + seconds[-1] + 1) / 2 - t0
        records = [r for s in seconds for r in by_second.get(s, ())]
        for name, value in _point_values(records, len(seconds)).items():
            columns[name].append((x, value))
        seen = [users[s] for s in seconds if s in users]
        columns["users"].append((x, float(max(seen)) if seen else None))

    def series(key: str, label: str) -> Series:
        return Series(label, tuple(columns[key]))

    return LoadSeries(
        step=step,
        throughput=series("throughput", "requests/s"),
        error_rate=series("error_rate", "error rate"),
        p50=series("p50", "p50"),
        p95=series("p95", "p95"),
        p99=series("p99", "p99"),
        users=series("users", "users"),
    )


def _point_values(records: Sequence[RequestSecond], seconds: int) -> dict[str, float | None]:
    count = sum(r.count for r in records)
    if count == 0:
        empty: dict[str, float | None] = dict.fromkeys(("error_rate", "p50", "p95", "p99"))
        return {"throughput": 0.0, **empty}
    good = sum(n for r in records for o, n in r.outcomes.items() if o.value in SUCCESSES)
    merged = merge_histograms(r.histogram for r in records)
    p50, p95, p99 = percentiles_ms(merged, (50.0, 95.0, 99.0))
    return {
        "throughput": count / seconds,
        "error_rate": 100.0 * (count - good) / count,
        "p50": p50,
        "p95": p95,
        "p99": p99,
    }


def percentiles_ms(histogram: HdrHistogram, wanted: Sequence[float]) -> list[float]:
    """Percentiles in milliseconds, equal to ``get_value_at_percentile`` for each.

    HdrHistogram's own method walks every slot in Python for every call (about 7 ms);
    a running sum over the counts, made in C by ``accumulate``, serves all of them.
    """
    running = list(accumulate(histogram.counts[: histogram.counts_len]))
    values = []
    for p in wanted:
        index = bisect_left(running, histogram.get_target_count_at_percentile(p))
        index = min(index, histogram.counts_len - 1)
        value = histogram.get_highest_equivalent_value(histogram.get_value_from_index(index))
        values.append(value / 1000.0)
    return values


def merge_histograms(histograms: Iterable[HdrHistogram]) -> HdrHistogram:
    """One histogram holding every value of ``histograms``."""
    merged = new_histogram()
    for histogram in histograms:
        merged.add(histogram)
    return merged


def count_at_or_above(histogram: HdrHistogram, micros: int) -> int:
    """How many recorded values are at or above ``micros``.

    Values in the same HdrHistogram slot as ``micros`` (within 0.1 %) count as at or
    above it: a bound is never passed by rounding in the service's favour.
    """
    if histogram.get_total_count() == 0:
        return 0
    if micros > histogram.get_max_value():
        return 0
    index = histogram.get_counts_array_index(max(int(micros), 1))
    counts = histogram.counts
    return int(sum(counts[index : histogram.counts_len]))


@dataclass(frozen=True)
class MetricChart:
    """One stack metric over time: a series per source (replica, proxy...)."""

    name: str
    series: tuple[Series, ...]


def _metric_rows(row: Mapping[str, Any]) -> Iterable[tuple[str, str, float]]:
    """(source, metric, value) triples of one stack-metrics line, in any accepted shape."""
    source = str(row.get("source") or row.get("replica") or "")
    if "name" in row and "value" in row:
        values: Mapping[str, Any] = {str(row["name"]): row["value"]}
    elif isinstance(row.get("metrics"), Mapping):
        values = row["metrics"]
    else:
        values = {k: v for k, v in row.items() if k not in ("t", "source", "replica")}
    for name, value in values.items():
        # A boolean (a breaker open or not) is drawn as 0 or 1.
        if isinstance(value, (int, float)):
            yield source, str(name), float(value)


def stack_metric_charts(rows: Sequence[Mapping[str, Any]], t0: float) -> list[MetricChart]:
    """Group stack-metrics lines into one chart per metric, one series per source."""
    grouped: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        t = row.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            continue
        for source, name, value in _metric_rows(row):
            grouped[name][source].append((float(t) - t0, value))
    return [
        MetricChart(
            name,
            tuple(
                Series(source or name, tuple(sorted(points)))
                for source, points in sorted(by_source.items())
            ),
        )
        for name, by_source in sorted(grouped.items())
    ]
