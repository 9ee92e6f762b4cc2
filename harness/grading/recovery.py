"""Time to recover: how long after a fault ends until the service is healthy again.

Healthy means, second by second, availability and p95 latency within the run's own
objectives for those SLIs (the post-mortem's 99.9 % and 500 ms when none are given),
held for ``STABLE_SECONDS`` seconds in a row. The recovery time is the start of the
first such stretch, counted from the fault's end. A service that never recovers
within the run gets the whole rest of the run, a lower bound that fails a tight
objective as it should.
"""

from __future__ import annotations

import math

from harness.experiment.model import SLI, Experiment
from harness.grading.phases import recovery_start
from harness.grading.slis import compute
from harness.grading.windows import window_counts
from harness.load.stats import LoadStats

STABLE_SECONDS = 5
DEFAULT_AVAILABILITY = 99.9
DEFAULT_P95_MS = 500.0


def _thresholds(experiment: Experiment) -> tuple[float, float]:
    availability, p95 = DEFAULT_AVAILABILITY, DEFAULT_P95_MS
    for objective in experiment.objectives:
        if objective.phase != "run" or objective.endpoint is not None:
            continue
        if objective.sli is SLI.availability and objective.min is not None:
            availability = objective.min
        if objective.sli is SLI.latency_p95 and objective.max is not None:
            p95 = objective.max
    return availability, p95


def _healthy(stats: LoadStats, second: int, availability: float, p95: float) -> bool:
    window = window_counts(stats, second, second + 1)
    seen_availability = compute(SLI.availability, window)
    seen_p95 = compute(SLI.latency_p95, window)
    if seen_availability is None or seen_p95 is None:
        return False  # a second without requests proves nothing
    return seen_availability >= availability and seen_p95 < p95


def recovery_seconds(
    experiment: Experiment, stats: LoadStats, phase: str, *, t0: float, t_end: float
) -> float | None:
    """Seconds from the fault's end to a stable healthy stretch; None without a fault."""
    offset = recovery_start(phase, experiment)
    if offset is None or t0 + offset >= t_end:
        return None
    availability, p95 = _thresholds(experiment)
    first = math.ceil(t0 + offset - 0.5)
    last = math.ceil(t_end - 0.5)
    streak_start, streak = None, 0
    for second in range(first, last):
        if _healthy(stats, second, availability, p95):
            streak_start = second if streak == 0 else streak_start
            streak += 1
            if streak >= STABLE_SECONDS:
                assert streak_start is not None
                return max(0.0, streak_start - (t0 + offset))
        else:
            streak = 0
    return t_end - (t0 + offset)
