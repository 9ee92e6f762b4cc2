"""Watching a run as it goes: the recorder's new lines, read once a second, and abort guards.

A guard trips when its SLI, computed over the trailing ``for`` seconds of complete
data, is past its limit. Seconds are complete once the recorder has written them
(it waits a couple of seconds for slow requests to land in the second they started).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from harness.experiment.model import Guard, GuardSLI
from harness.load.stats import LoadStats, parse_lines

log = logging.getLogger(__name__)

SERVICE_FAILURES = frozenset({"server_error", "timeout", "connection_error"})
SUCCESSES = frozenset({"ok", "expected"})


class StatsTail:
    """Reads the lines a growing stats file gained since the last read.

    Only the newest ``keep_seconds`` seconds are kept, so a poll costs the same an hour
    into a run as at its start.
    """

    def __init__(self, path: Path, keep_seconds: int = 120) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self._offset = 0
        self._lines: list[dict[str, object]] = []

    def poll(self) -> LoadStats:
        """Everything read so far, including the lines new since the last poll."""
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                chunk = stream.read()
        except FileNotFoundError:
            return parse_lines(self._lines)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a half-written last line waits
        self._offset += len(complete)
        for raw in complete.splitlines():
            if raw.strip():
                self._lines.append(json.loads(raw))
        newest = max((_second(line) for line in self._lines), default=0)
        self._lines = [line for line in self._lines if _second(line) > newest - self.keep_seconds]
        return parse_lines(self._lines)


def _second(line: dict[str, object]) -> int:
    t = line.get("t", 0)
    return int(t) if isinstance(t, (int, float)) else 0


@dataclass(frozen=True)
class Trip:
    """A guard that tripped, with the value that tripped it."""

    guard: Guard
    value: float

    @property
    def reason(self) -> str:
        """One sentence for the verdict."""
        return f"abort guard tripped: {self.guard.text} (was {self.value:.2f})"


def guard_value(guard: Guard, stats: LoadStats, first: int, last: int) -> float | None:
    """The guard's SLI over the seconds ``first <= t < last``; None without requests."""
    window = stats.window(first, last)
    if window.count == 0:
        return None
    counts = {o.value: n for o, n in window.outcomes.items()}
    if guard.sli is GuardSLI.availability:
        failed = sum(counts.get(k, 0) for k in SERVICE_FAILURES)
        return 100.0 * (window.count - failed) / window.count
    if guard.sli is GuardSLI.error_rate:
        good = sum(counts.get(k, 0) for k in SUCCESSES)
        return 100.0 * (window.count - good) / window.count
    return window.percentile(95.0)


def tripped(guards: list[Guard], stats: LoadStats, t0: float) -> Trip | None:
    """The first guard past its limit over its trailing window of complete seconds."""
    if not stats.requests:
        return None
    newest = max(r.t for r in stats.requests) + 1  # the end of the newest written second
    for guard in guards:
        first = newest - int(guard.for_)
        if first < int(t0):
            continue  # not yet `for` seconds of data
        value = guard_value(guard, stats, first, newest)
        if value is None:
            continue
        past = (guard.above is not None and value > guard.above) or (
            guard.below is not None and value < guard.below
        )
        if past:
            return Trip(guard, value)
    return None
