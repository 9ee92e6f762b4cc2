"""Abort guards, checked once a second against the recorder's newest seconds.

A guard trips when its SLI, computed over the trailing ``for`` seconds of complete
data, is past its limit. The seconds come from the same incremental reader the live
view uses (`harness.report.tail.StatsTail`), and the SLI from the grader's own
`compute`, so a guard judges exactly as the final grading does.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.experiment.model import SLI, Guard
from harness.grading.slis import compute
from harness.report.tail import StatsTail


@dataclass(frozen=True)
class Trip:
    """A guard that tripped, with the value that tripped it."""

    guard: Guard
    value: float

    @property
    def reason(self) -> str:
        """One sentence for the verdict."""
        return f"abort guard tripped: {self.guard.text} (was {self.value:.2f})"


def tripped(guards: list[Guard], tail: StatsTail, t0: float) -> Trip | None:
    """The first guard past its limit over its trailing window of complete seconds."""
    if tail.latest is None:
        return None
    for guard in guards:
        seconds = int(guard.for_)
        if tail.latest - max(int(t0), tail.earliest or 0) + 1 < seconds:
            continue  # not yet `for` seconds of data
        value = compute(SLI(guard.sli.value), tail.window(seconds))
        if value is None:
            continue
        past = (guard.above is not None and value > guard.above) or (
            guard.below is not None and value < guard.below
        )
        if past:
            return Trip(guard, value)
    return None
