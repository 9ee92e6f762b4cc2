"""Grade a finished run: SLIs per phase from the recorder, objectives, the verdict."""

from __future__ import annotations

from typing import Any

from harness.experiment.model import SLI, Experiment, Objective
from harness.faults.timeline import FaultEvent
from harness.grading.integrity import IntegrityReport
from harness.grading.phases import Phase, plan_phases, windows_for
from harness.grading.recovery import recovery_seconds
from harness.grading.slis import compute
from harness.grading.verdict import (
    ObjectiveResult,
    Verdict,
    decide,
    grade_objective,
    grade_value,
)
from harness.grading.windows import seconds_of, window_counts, windows_counts
from harness.load.stats import LoadStats

REPORTED_SLIS = (
    SLI.availability,
    SLI.error_rate,
    SLI.latency_p50,
    SLI.latency_p95,
    SLI.latency_p99,
    SLI.successful_bookings,
    SLI.throughput,
)


def _phase_summary(stats: LoadStats, phase: Phase, t0: float) -> dict[str, Any]:
    counts = window_counts(stats, t0 + phase.start, t0 + phase.end)
    return {
        "name": phase.name,
        "start": phase.start,
        "end": phase.end,
        "requests": counts.requests,
        "outcomes": dict(counts.outcomes),
        "booking_attempts": counts.booking_attempts,
        "bookings_completed": counts.bookings_completed,
        # Open model only: arrivals that could not start in time (never sent).
        "dropped_arrivals": stats.dropped(*seconds_of(t0 + phase.start, t0 + phase.end)),
        "slis": {sli.value: compute(sli, counts) for sli in REPORTED_SLIS},
    }


def _missing_faults(experiment: Experiment, events: list[FaultEvent]) -> list[str]:
    """Faults with no proof of effect: never applied, not felt, or no traffic under them."""
    applied = {e.fault for e in events if e.action == "apply" and e.ok}
    unproven = {
        e.fault for e in events if e.evidence is not None and not e.evidence.get("ok", False)
    }
    return [f.label for f in experiment.faults if f.label not in applied or f.label in unproven]


def _grade(
    objective: Objective,
    experiment: Experiment,
    stats: LoadStats,
    phases: list[Phase],
    *,
    t0: float,
    t_end: float,
) -> ObjectiveResult:
    if objective.sli is SLI.recovery_time:
        seconds = recovery_seconds(experiment, stats, objective.phase, t0=t0, t_end=t_end)
        return grade_value(objective, seconds)
    windows = [(t0 + p.start, t0 + p.end) for p in windows_for(objective.phase, phases)]
    return grade_objective(objective, windows_counts(stats, windows, objective.endpoint))


def grade_run(
    experiment: Experiment,
    stats: LoadStats,
    *,
    t0: float,
    t_end: float,
    integrity: IntegrityReport | None,
    fault_events: list[FaultEvent],
    aborted: str | None = None,
    steady_failure: str | None = None,
) -> dict[str, Any]:
    """Everything verdict.json holds: phases with their SLIs, objectives and the verdict."""
    phases = plan_phases(experiment, run_length=t_end - t0 if aborted else None)
    results = [
        _grade(objective, experiment, stats, phases, t0=t0, t_end=t_end)
        for objective in experiment.objectives
    ]
    missing = [] if aborted else _missing_faults(experiment, fault_events)
    integrity_ok = integrity.ok if integrity is not None else False
    summary = integrity.summary if integrity is not None else "not checked"
    status, reason = decide(
        results,
        integrity_ok=integrity_ok or bool(aborted),
        integrity_summary=summary,
        faults_missing=missing,
        aborted=aborted,
        steady_failure=steady_failure,
    )
    verdict = Verdict(
        status,
        reason,
        results,
        integrity=integrity.to_json() if integrity else {},
        faults_missing=missing,
    )
    return {
        "experiment": {"name": experiment.name, "description": experiment.description},
        "started_at": t0,
        "ended_at": t_end,
        "verdict": verdict.to_json(),
        "phases": [_phase_summary(stats, p, t0) for p in phases],
        "fault_events": [e.__dict__ for e in fault_events],
    }
