"""Error budgets: how much of a month's allowance the run spent, and would an alert page.

An objective becomes a ratio of good events to all events, and its budget is the share of
bad events it allows:

=====================  =======================  ====================================
objective              a bad event               allowed share of bad events
=====================  =======================  ====================================
availability >= A %    a request the service     100 - A %
                       failed (5xx, timeout,
                       connection error)
error_rate < E %       any failed request        E %
successful_bookings    an attempt that did not   100 - S %
>= S %                 complete
latency_pNN < B ms     a request taking B ms     100 - NN % (p95 < 500 ms allows 5 %
                       or more                   of requests at or above 500 ms)
=====================  =======================  ====================================

Throughput objectives have no budget. The **burn rate** is the observed bad share over
the allowed share: 1 spends a 30-day budget in exactly 30 days, 14.4 spends 2 % of it in
one hour. The report gives the burn rate, the share of a 30-day budget the run itself
spent (burn rate x run length / 30 days), and how long the budget would last at that rate.

**Burn-rate alerts, on a run of minutes.** The multi-window policy of the SRE workbook
pages when both a long and a short window burn faster than a factor: fast 1 h and 5 min
at 14.4, slow 6 h and 30 min at 6. A run lasts minutes, so those windows cannot be laid
on it as they are. Burn rates are ratios and do not depend on the time scale, so the run
is read as a scale model of twelve hours: every window is multiplied by run length / 12 h
(a 90 s run: fast 7.5 s and 0.6 s, slow 45 s and 3.75 s), rounded up to whole seconds
(the recorder's resolution), at least one. Twelve hours, not six, so that the slow
alert's long window is half the run and can be evaluated over the whole second half.
An alert is evaluated at the end of every second once its long window fits in the run
(nothing is known about the time before the run). "Fired" means the run's pattern of
errors, played out over real hours, would have paged; it does not mean a real alert on
a real month of traffic would have, which depends on the traffic around the incident.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from harness.grading.slis import SERVICE_FAILURES, SUCCESSES
from harness.load.stats import LoadStats
from harness.report.model import ObjectiveView, RunResult
from harness.report.series import count_at_or_above

PERIOD_SECONDS = 30 * 24 * 3600.0
MODEL_SECONDS = 12 * 3600.0
"""The stretch of real time a run stands for when burn-rate windows are scaled."""


@dataclass(frozen=True)
class BurnAlert:
    """A multi-window burn-rate alert: both windows must burn faster than ``factor``."""

    name: str
    long_seconds: float
    short_seconds: float
    factor: float


ALERTS = (
    BurnAlert("fast", 3600.0, 300.0, 14.4),
    BurnAlert("slow", 6 * 3600.0, 1800.0, 6.0),
)


@dataclass(frozen=True)
class AlertResult:
    """One alert evaluated on the run, with the windows it was scaled to."""

    alert: BurnAlert
    long_window: int
    short_window: int
    fired: bool | None
    first_fired_at: float | None
    peak_burn: float | None


@dataclass(frozen=True)
class Budget:
    """The error budget of one objective over its phase of the run."""

    objective: ObjectiveView
    allowed: float | None
    bad: float | None
    seconds: float
    alerts: tuple[AlertResult, ...] = ()
    note: str = ""

    @property
    def burn_rate(self) -> float | None:
        """Observed bad share over the allowed share; None without a budget or data."""
        if self.allowed is None or self.bad is None or self.allowed <= 0:
            return None
        return self.bad / self.allowed

    @property
    def consumed(self) -> float | None:
        """The share (0..1+) of a 30-day budget this run spent in its own length."""
        burn = self.burn_rate
        return None if burn is None else burn * self.seconds / PERIOD_SECONDS

    @property
    def lasts_seconds(self) -> float | None:
        """How long a 30-day budget would last at this burn rate (None: forever/unknown)."""
        burn = self.burn_rate
        return PERIOD_SECONDS / burn if burn else None


def allowed_share(objective: ObjectiveView) -> float | None:
    """The objective's budget as a percentage of events, or None when it has none."""
    if objective.bound is None:
        return None
    if objective.sli in ("availability", "successful_bookings") and objective.is_min:
        return 100.0 - objective.bound
    if objective.sli == "error_rate" and not objective.is_min:
        return objective.bound
    if objective.sli.startswith("latency_p") and not objective.is_min:
        return 100.0 - float(objective.sli.removeprefix("latency_p"))
    return None


def _bad_share_from_actual(objective: ObjectiveView) -> float | None:
    if objective.actual is None or objective.sli.startswith("latency_"):
        return None
    if objective.sli == "error_rate":
        return objective.actual
    return 100.0 - objective.actual


def per_second(
    stats: LoadStats, objective: ObjectiveView, first: int, last: int
) -> tuple[list[int], list[int]]:
    """Bad and total events for each second ``first <= t < last``."""
    bad, total = [0] * (last - first), [0] * (last - first)
    if objective.sli == "successful_bookings":
        for b in stats.bookings:
            if first <= b.t < last:
                bad[b.t - first] += b.attempts - b.completed
                total[b.t - first] += b.attempts
        return bad, total
    latency_us = int((objective.bound or 0) * 1000)
    for r in stats.requests:
        if not first <= r.t < last or objective.endpoint not in (None, r.endpoint):
            continue
        if objective.sli == "availability":
            n = sum(c for o, c in r.outcomes.items() if o.value in SERVICE_FAILURES)
        elif objective.sli == "error_rate":
            n = r.count - sum(c for o, c in r.outcomes.items() if o.value in SUCCESSES)
        else:
            n = count_at_or_above(r.histogram, latency_us)
        bad[r.t - first] += n
        total[r.t - first] += r.count
    return bad, total


def evaluate_alert(
    alert: BurnAlert, bad: Sequence[int], total: Sequence[int], allowed: float
) -> AlertResult:
    """Slide the alert's scaled windows over the run's seconds."""
    scale = len(bad) / MODEL_SECONDS
    long_w = min(max(1, math.ceil(alert.long_seconds * scale)), len(bad))
    short_w = max(1, math.ceil(alert.short_seconds * scale))
    if not bad or allowed <= 0:
        return AlertResult(alert, long_w, short_w, None, None, None)

    def burn(end: int, width: int) -> float:
        events = sum(total[end - width : end])
        return 100.0 * sum(bad[end - width : end]) / events / allowed if events else 0.0

    fired_at, peak = None, 0.0
    for end in range(long_w, len(bad) + 1):
        long_burn = burn(end, long_w)
        peak = max(peak, long_burn)
        if fired_at is None and long_burn > alert.factor and burn(end, short_w) > alert.factor:
            fired_at = float(end)
    return AlertResult(alert, long_w, short_w, fired_at is not None, fired_at, peak)


def objective_budget(
    result: RunResult, objective: ObjectiveView, stats: LoadStats | None
) -> Budget:
    """The budget of one objective; alerts only when per-second statistics are at hand."""
    allowed = allowed_share(objective)
    phase = result.phase(objective.phase)
    seconds = (phase.end - phase.start) if phase else result.duration
    if allowed is None:
        return Budget(objective, None, None, seconds, note="no error budget for this objective")
    if allowed <= 0:
        note = "a 100 % objective allows no bad event: there is no budget to burn"
        return Budget(objective, allowed, None, seconds, note=note)
    if stats is None or phase is None or result.started_at is None:
        bad = _bad_share_from_actual(objective)
        note = "from the verdict alone; burn-rate alerts need load-stats.jsonl"
        return Budget(objective, allowed, bad, seconds, note=note)
    t0 = result.started_at
    first, last = math.ceil(t0 + phase.start - 0.5), math.ceil(t0 + phase.end - 0.5)
    bad_s, total_s = per_second(stats, objective, first, last)
    events = sum(total_s)
    share = 100.0 * sum(bad_s) / events if events else None
    alerts = tuple(evaluate_alert(a, bad_s, total_s, allowed) for a in ALERTS)
    return Budget(objective, allowed, share, seconds, alerts)


def budgets(result: RunResult, stats: LoadStats | None) -> list[Budget]:
    """A budget for every objective of the run, in the verdict's order."""
    return [objective_budget(result, o, stats) for o in result.objectives]


def format_duration_long(seconds: float | None) -> str:
    """``3.2 h``, ``12 days``: how long a budget lasts, roughly."""
    if seconds is None:
        return "forever"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
