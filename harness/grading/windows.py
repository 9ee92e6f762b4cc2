"""SLI inputs over time windows of a run, from the recorder's per-second stats."""

from __future__ import annotations

import math

from harness.grading.slis import WindowCounts
from harness.load.stats import LoadStats, new_histogram


def seconds_of(start: float, end: float) -> tuple[int, int]:
    """The recorder's whole seconds ``first <= t < last`` that a window covers."""
    # The recorder files requests under the whole second they started in. A second
    # belongs to the window holding its midpoint, so adjacent phases share none and
    # together cover every second.
    return math.ceil(start - 0.5), math.ceil(end - 0.5)


def window_counts(
    stats: LoadStats, start: float, end: float, endpoint: str | None = None
) -> WindowCounts:
    """Counts between two wall-clock times, for one endpoint or all."""
    return windows_counts(stats, [(start, end)], endpoint)


def windows_counts(
    stats: LoadStats, windows: list[tuple[float, float]], endpoint: str | None = None
) -> WindowCounts:
    """Counts over several wall-clock windows taken together (their histograms merged)."""
    histogram = new_histogram()
    outcomes: dict[str, int] = {}
    requests = attempts = completed = 0
    for start, end in windows:
        first, last = seconds_of(start, end)
        agg = stats.window(first, last, endpoint)
        bookings = stats.booking_window(first, last)
        requests += agg.count
        attempts += bookings.attempts
        completed += bookings.completed
        histogram.add(agg.histogram)
        for outcome, n in agg.outcomes.items():
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + n

    def latency(p: float) -> float | None:
        return float(histogram.get_value_at_percentile(p)) / 1000.0 if requests else None

    return WindowCounts(
        seconds=sum(max(end - start, 0.0) for start, end in windows),
        requests=requests,
        outcomes=outcomes,
        booking_attempts=attempts,
        bookings_completed=completed,
        latency_ms=latency,
    )
