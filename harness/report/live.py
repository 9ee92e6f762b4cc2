"""The run as it happens: a live panel in a terminal, plain log lines in CI.

The run loop calls, once a second::

    feed = LiveFeed(experiment, run_dir / "load-stats.jsonl")
    with LiveView(experiment, console) as view:
        while running:
            view.update(feed.snapshot(t0, time.time(), active_faults))

`LiveFeed` reads only what the recorder appended since the last second (`StatsTail`)
and computes the SLIs of the last ``window`` seconds exactly as the grader does, so an
objective shown red live is one being breached by the same definition. The recorder
writes a second about two seconds after it ends, so "now" on the panel lags by that.

On a terminal the panel redraws in place (rich Live); otherwise a line is printed on
the first update, whenever the phase or the set of breached objectives changes, and at
least every ``every`` seconds, so a CI log tells the story without a line per second.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from harness.experiment.model import SLI, Experiment, Objective
from harness.grading.phases import RUN, plan_phases
from harness.grading.slis import compute
from harness.report.model import format_value
from harness.report.tail import StatsTail

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ObjectiveNow:
    """One objective's SLI over the last seconds."""

    name: str
    target: str
    unit: str
    value: float | None
    breached: bool


@dataclass(frozen=True)
class LiveSnapshot:
    """What the live view shows at one moment."""

    elapsed: float
    duration: float
    phase: str
    active_faults: tuple[str, ...]
    users: int | None
    rps: float | None
    error_rate: float | None
    p95: float | None
    objectives: tuple[ObjectiveNow, ...] = ()
    window: int = 10

    @property
    def remaining(self) -> float:
        """Seconds of load still to come."""
        return max(self.duration - self.elapsed, 0.0)

    @property
    def breaches(self) -> tuple[str, ...]:
        """Names of the objectives breached over the last seconds."""
        return tuple(o.name for o in self.objectives if o.breached)


def current_phase(experiment: Experiment, elapsed: float) -> str:
    """The planned phase at ``elapsed`` seconds: a fault window, baseline or recovery."""
    inside = [
        p.name for p in plan_phases(experiment) if p.name != RUN and p.start <= elapsed < p.end
    ]
    return (
        ", ".join(inside) if inside else ("run" if elapsed < experiment.load.duration else "done")
    )


def active_faults(events: Iterable[object]) -> tuple[str, ...]:
    """Faults applied and not yet removed, from the fault timeline's events."""
    active: dict[str, None] = {}
    for event in events:
        label, action = getattr(event, "fault", ""), getattr(event, "action", "")
        if action == "apply" and getattr(event, "ok", False):
            active[label] = None
        elif action == "remove":
            active.pop(label, None)
    return tuple(active)


def _breached(objective: Objective, value: float | None) -> bool:
    if value is None:
        return False
    if objective.min is not None:
        return value < objective.min
    return objective.max is not None and value >= objective.max


class LiveFeed:
    """Turns the growing stats file into one `LiveSnapshot` per call."""

    def __init__(
        self,
        experiment: Experiment,
        stats_path: Path,
        window: int = 10,
        tail: StatsTail | None = None,
    ) -> None:
        self.experiment = experiment
        self.window = window
        # A tail shared with the abort guards is read once per second for both.
        self.tail = tail or StatsTail(stats_path, keep_seconds=max(window * 4, 60))

    def snapshot(self, t0: float, now: float, faults: Sequence[str] | None = None) -> LiveSnapshot:
        """The state ``now - t0`` seconds into the load; ``faults`` None: as planned."""
        self.tail.poll()
        elapsed = max(now - t0, 0.0)
        if faults is None:
            faults = [f.label for f in self.experiment.faults if f.at <= elapsed < f.end]
        # Only seconds that are over by ``now``: a replayed or finished file holds more.
        until = int(now) - 1
        counts = self.tail.window(self.window, until=until)
        objectives = []
        for objective in self.experiment.objectives:
            scoped = self.tail.window(self.window, objective.endpoint, until)
            value = compute(objective.sli, scoped)
            name = objective.sli.value + (f" [{objective.endpoint}]" if objective.endpoint else "")
            objectives.append(
                ObjectiveNow(
                    name, objective.target_text, objective.unit, value, _breached(objective, value)
                )
            )
        return LiveSnapshot(
            elapsed=elapsed,
            duration=self.experiment.load.duration,
            phase=current_phase(self.experiment, elapsed),
            active_faults=tuple(faults),
            users=self.tail.users(until),
            rps=compute(SLI.throughput, counts),
            error_rate=compute(SLI.error_rate, counts),
            p95=compute(SLI.latency_p95, counts),
            objectives=tuple(objectives),
            window=self.window,
        )


def load_text(snapshot: LiveSnapshot) -> str:
    """Users, requests per second, error rate and p95 of the last seconds."""
    users = "-" if snapshot.users is None else str(snapshot.users)
    rps = "-" if snapshot.rps is None else f"{snapshot.rps:.1f}"
    return (
        f"users {users} rps {rps} errors {format_value(snapshot.error_rate, '%')} "
        f"p95 {format_value(snapshot.p95, 'ms')} (last {snapshot.window}s)"
    )


def plain_line(snapshot: LiveSnapshot) -> str:
    """The one-line form of a snapshot, for logs that are not a terminal."""
    faults = ",".join(snapshot.active_faults) or "none"
    line = (
        f"[{snapshot.elapsed:4.0f}s/{snapshot.duration:.0f}s] phase {snapshot.phase} "
        f"faults {faults} {load_text(snapshot)}"
    )
    if snapshot.breaches:
        line += " BREACHED: " + ", ".join(snapshot.breaches)
    return line


def render_panel(snapshot: LiveSnapshot, title: str) -> Panel:
    """The terminal panel: progress, phase and faults, load, and objectives."""
    bar = ProgressBar(total=max(snapshot.duration, 1.0), completed=snapshot.elapsed, width=40)
    head = Text.assemble(
        (f" {snapshot.elapsed:.0f}s elapsed, {snapshot.remaining:.0f}s left   ", ""),
        ("phase ", "dim"), (snapshot.phase, "bold"), ("   faults ", "dim"),
        (", ".join(snapshot.active_faults) or "none",
         "bold red" if snapshot.active_faults else ""),
    )  # fmt: skip
    load = Text(" " + load_text(snapshot))
    table = Table(box=None, show_header=True, pad_edge=False)
    for column in ("objective", "target", f"last {snapshot.window}s", ""):
        table.add_column(column)
    for o in snapshot.objectives:
        mark = Text("BREACHED", style="bold red") if o.breached else Text("ok", style="green")
        table.add_row(o.name, o.target, format_value(o.value, o.unit), mark)
    style = "red" if snapshot.breaches else "green"
    return Panel(Group(bar, head, load, table), title=title, border_style=style)


class LiveView:
    """The live display of one run; use as a context manager around the run loop."""

    def __init__(self, experiment: Experiment, console: Console, every: float = 10.0) -> None:
        self.title = f"{experiment.name}: live"
        self.console = console
        self.every = every
        self._live: Live | None = None
        self._last_line: tuple[float, str, tuple[str, ...]] | None = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, snapshot: LiveSnapshot) -> None:
        """Show ``snapshot``: redraw the panel, or print a line when one is due."""
        if self._live is not None:
            self._live.update(render_panel(snapshot, self.title), refresh=True)
            return
        state = (snapshot.phase, snapshot.breaches)
        last = self._last_line
        if last is None or (last[1], last[2]) != state or snapshot.elapsed - last[0] >= self.every:
            self.console.print(plain_line(snapshot), markup=False, highlight=False, soft_wrap=True)
            self._last_line = (snapshot.elapsed, *state)
