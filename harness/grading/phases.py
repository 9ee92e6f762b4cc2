"""Phases of a run on its timeline: baseline, each fault window, recovery, the whole run.

Offsets are seconds from the start of load. Objectives are graded per phase; the
report shows every phase's SLIs so a reader sees what a fault did and whether the
service came back.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.experiment.model import Experiment

RUN = "run"
BASELINE = "baseline"
RECOVERY = "recovery"
DURING = "during"  # every fault window together
FAULT_PREFIX = "fault:"


@dataclass(frozen=True)
class Phase:
    """A named window of the run, as offsets in seconds from the start of load."""

    name: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        """Length of the window."""
        return self.end - self.start


def plan_phases(experiment: Experiment, run_length: float | None = None) -> list[Phase]:
    """The whole run, the baseline before the first fault, each fault, and recovery."""
    length = experiment.load.duration if run_length is None else run_length
    phases = [Phase(RUN, 0.0, length)]
    # A run stopped early (aborted) is shorter than its plan: a fault window is cut at
    # the stop, and a fault that was due after it never happened.
    faults = sorted((f for f in experiment.faults if f.at < length), key=lambda f: f.at)
    if not faults:
        return phases
    if faults[0].at > 0:
        phases.append(Phase(BASELINE, 0.0, faults[0].at))
    phases += [Phase(f"fault:{f.label}", f.at, min(f.end, length)) for f in faults]
    last_end = max(f.end for f in faults)
    if length > last_end:
        phases.append(Phase(RECOVERY, last_end, length))
    return phases


def windows_for(phase: str, phases: list[Phase]) -> list[Phase]:
    """The windows an objective's ``phase`` covers; empty when the run had no such phase.

    ``during`` is the union of every fault window; the other names are single phases.
    """
    if phase == DURING:
        return [p for p in phases if p.name.startswith(FAULT_PREFIX)]
    return [p for p in phases if p.name == phase]


def recovery_start(phase: str, experiment: Experiment) -> float | None:
    """When the fault a recovery is measured from ended: the named fault, else the last."""
    if phase.startswith(FAULT_PREFIX):
        label = phase.removeprefix(FAULT_PREFIX)
        ends = [f.end for f in experiment.faults if f.label == label]
    else:
        ends = [f.end for f in experiment.faults]
    return max(ends) if ends else None
