"""Grading: each objective against its SLI, and the run's overall verdict.

A run passes only when every objective passes, the integrity check found nothing,
and every fault of the timeline was actually applied. A fault that never took effect,
or an objective with no data to judge, makes the run inconclusive, never a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from harness.experiment.model import SLI, Objective
from harness.grading.slis import WindowCounts, compute


class Status(str, Enum):
    """The verdict of a run or of one objective."""

    passed = "pass"
    failed = "fail"
    inconclusive = "inconclusive"
    aborted = "aborted"


@dataclass(frozen=True)
class ObjectiveResult:
    """One objective graded over one phase."""

    sli: str
    phase: str
    endpoint: str | None
    target: str
    bound: float
    unit: str
    actual: float | None
    status: Status
    margin: float | None

    @property
    def actual_text(self) -> str:
        """The actual value with its unit, or 'no data'."""
        if self.actual is None:
            return "no data"
        digits = 3 if self.unit == "%" else 1
        return f"{self.actual:.{digits}f} {self.unit}"


def grade_objective(objective: Objective, window: WindowCounts) -> ObjectiveResult:
    """Compare one SLI, computed over ``window``, with its target."""
    return grade_value(objective, compute(objective.sli, window))


def grade_value(objective: Objective, actual: float | None) -> ObjectiveResult:
    """Compare a measured SLI with its target; the margin is positive when there is headroom."""
    if actual is None:
        status, margin = Status.inconclusive, None
    elif objective.min is not None:
        margin = actual - objective.min
        status = Status.passed if actual >= objective.min else Status.failed
    else:
        assert objective.max is not None
        margin = objective.max - actual
        status = Status.passed if actual < objective.max else Status.failed
    return ObjectiveResult(
        sli=objective.sli.value,
        phase=objective.phase,
        endpoint=objective.endpoint,
        target=objective.target_text,
        bound=objective.bound,
        unit=objective.unit,
        actual=actual,
        status=status,
        margin=margin,
    )


@dataclass
class Verdict:
    """The run's outcome: what was judged, and the one-sentence reason."""

    status: Status
    reason: str
    objectives: list[ObjectiveResult]
    integrity: dict[str, Any] = field(default_factory=dict)
    faults_missing: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for verdict.json."""
        data = asdict(self)
        data["status"] = self.status.value
        for item in data["objectives"]:
            item["status"] = item["status"].value
        return data


def decide(
    objectives: list[ObjectiveResult],
    *,
    integrity_ok: bool,
    integrity_summary: str,
    faults_missing: list[str],
    aborted: str | None = None,
    steady_failure: str | None = None,
) -> tuple[Status, str]:
    """The overall status and its reason, from the graded parts."""
    failed = [o for o in objectives if o.status is Status.failed]
    if aborted:
        return Status.aborted, f"aborted: {aborted}"
    if not integrity_ok:
        return Status.failed, f"integrity violated: {integrity_summary}"
    if steady_failure:
        return Status.failed, f"the service did not return to its steady state: {steady_failure}"
    if failed:
        names = ", ".join(f"{o.sli} {o.actual_text} (target {o.target})" for o in failed)
        return Status.failed, f"{len(failed)} of {len(objectives)} objectives failed: {names}"
    if faults_missing:
        return Status.inconclusive, (
            f"fault(s) {', '.join(faults_missing)} did not take effect, so the run "
            "says nothing about them"
        )
    missing = [o.sli for o in objectives if o.status is Status.inconclusive]
    if missing:
        return Status.inconclusive, f"no data to judge {', '.join(missing)}"
    return Status.passed, f"all {len(objectives)} objectives met"


__all__ = ["SLI", "ObjectiveResult", "Status", "Verdict", "decide", "grade_objective"]
