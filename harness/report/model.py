"""Typed, read-only views of a run's results, the one input of every report.

verdict.json is the source (see `harness.report.schema` for its documented shape); the
other files of the results folder add detail when they are there: experiment.json (the
experiment as run), faults.jsonl (when each fault was in place), load-stats.jsonl (the
per-second series behind the charts) and stack-metrics.jsonl (the stack's own gauges).

The verdict format grows from issue to issue, so every field but the verdict's status
is optional here: a renderer shows what a run recorded and leaves out what it did not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.load.stats import LoadStats, StatsFormatError, load_stats

log = logging.getLogger(__name__)

VERDICT_FILE = "verdict.json"
EXPERIMENT_FILE = "experiment.json"
FAULTS_FILE = "faults.jsonl"
STATS_FILE = "load-stats.jsonl"
STACK_METRICS_FILE = "stack-metrics.jsonl"

# SLIs where more is better; every other SLI is better when lower.
HIGHER_IS_BETTER = frozenset({"availability", "successful_bookings", "throughput"})
SLI_UNITS = {
    "availability": "%",
    "error_rate": "%",
    "successful_bookings": "%",
    "latency_p50": "ms",
    "latency_p95": "ms",
    "latency_p99": "ms",
    "throughput": "req/s",
}


class ReportError(HarnessError):
    """A results folder or file could not be read into a report."""


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit as every report prints it: ``99.950 %``, ``512.3 ms``."""
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value:.3f} %"
    return f"{value:.1f} {unit}"


@dataclass(frozen=True)
class ObjectiveView:
    """One objective graded over one phase."""

    sli: str
    phase: str
    endpoint: str | None
    target: str
    bound: float | None
    unit: str
    actual: float | None
    status: str
    margin: float | None

    @property
    def name(self) -> str:
        """The SLI, with the endpoint it is restricted to in brackets."""
        return self.sli + (f" [{self.endpoint}]" if self.endpoint else "")

    @property
    def is_min(self) -> bool:
        """True when the SLI must stay at or above its bound (``>= 99.9 %``)."""
        return self.target.lstrip().startswith(">")

    def breached_by(self, value: float | None) -> bool:
        """Whether ``value`` would miss this objective's bound."""
        if value is None or self.bound is None:
            return False
        return value < self.bound if self.is_min else value >= self.bound


@dataclass(frozen=True)
class PhaseView:
    """A named window of the run with the SLIs measured in it."""

    name: str
    start: float
    end: float
    requests: int
    slis: Mapping[str, float | None]
    outcomes: Mapping[str, int] = field(default_factory=dict)
    booking_attempts: int = 0
    bookings_completed: int = 0

    @property
    def fault(self) -> str | None:
        """The fault's label for a fault window (``fault:db-latency``), else None."""
        return self.name.split(":", 1)[1] if self.name.startswith("fault:") else None


@dataclass(frozen=True)
class FaultWindow:
    """When one fault was in place, in seconds from the start of load."""

    label: str
    start: float
    end: float
    applied: bool = True
    detail: str = ""


@dataclass(frozen=True)
class Marker:
    """A moment worth a line on the charts: a replica restarted, killed or paused."""

    offset: float
    label: str
    kind: str


@dataclass(frozen=True)
class RunResult:
    """verdict.json as typed values; ``raw`` keeps the whole document."""

    name: str
    description: str
    status: str
    reason: str
    objectives: tuple[ObjectiveView, ...]
    phases: tuple[PhaseView, ...]
    fault_windows: tuple[FaultWindow, ...]
    markers: tuple[Marker, ...]
    integrity: Mapping[str, Any]
    faults_missing: tuple[str, ...]
    started_at: float | None
    ended_at: float | None
    results_dir: str
    schema_version: int | None
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def duration(self) -> float:
        """Seconds of load: the ``run`` phase, else the wall-clock span, else 0."""
        for phase in self.phases:
            if phase.name == "run":
                return phase.end - phase.start
        if self.started_at is not None and self.ended_at is not None:
            return max(self.ended_at - self.started_at, 0.0)
        return 0.0

    def phase(self, name: str) -> PhaseView | None:
        """The phase called ``name``, if the run has one."""
        return next((p for p in self.phases if p.name == name), None)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _objective(item: Mapping[str, Any]) -> ObjectiveView:
    sli = str(item.get("sli", "?"))
    return ObjectiveView(
        sli=sli,
        phase=str(item.get("phase") or "run"),
        endpoint=item.get("endpoint") or None,
        target=str(item.get("target", "")),
        bound=_num(item.get("bound")),
        unit=str(item.get("unit") or SLI_UNITS.get(sli, "")),
        actual=_num(item.get("actual")),
        status=str(item.get("status", "inconclusive")),
        margin=_num(item.get("margin")),
    )


def _phase(item: Mapping[str, Any]) -> PhaseView:
    slis = item.get("slis") or {}
    return PhaseView(
        name=str(item.get("name", "?")),
        start=_num(item.get("start")) or 0.0,
        end=_num(item.get("end")) or 0.0,
        requests=int(item.get("requests") or 0),
        slis={str(k): _num(v) for k, v in slis.items()},
        outcomes={str(k): int(v) for k, v in (item.get("outcomes") or {}).items()},
        booking_attempts=int(item.get("booking_attempts") or 0),
        bookings_completed=int(item.get("bookings_completed") or 0),
    )


def fault_windows(events: Sequence[Mapping[str, Any]], run_end: float) -> list[FaultWindow]:
    """Pair each applied fault with its removal; one never removed lasts to ``run_end``."""
    windows: list[FaultWindow] = []
    open_at: dict[str, tuple[float, str]] = {}
    for event in sorted(events, key=lambda e: _num(e.get("offset")) or 0.0):
        label, offset = str(event.get("fault", "?")), _num(event.get("offset")) or 0.0
        action, ok = event.get("action"), bool(event.get("ok", True))
        if action == "apply" and ok:
            open_at[label] = (offset, str(event.get("detail", "")))
        elif action == "apply":
            windows.append(FaultWindow(label, offset, offset, False, str(event.get("detail", ""))))
        elif action == "remove" and label in open_at:
            start, detail = open_at.pop(label)
            windows.append(FaultWindow(label, start, offset, True, detail))
    for label, (start, detail) in open_at.items():
        windows.append(FaultWindow(label, start, max(run_end, start), True, detail))
    return sorted(windows, key=lambda w: (w.start, w.label))


def markers(data: Mapping[str, Any], started_at: float | None) -> list[Marker]:
    """Restarts and replica faults: fault events other than apply/remove, and ``restarts``."""
    found: list[Marker] = []
    for event in data.get("fault_events") or []:
        if event.get("action") not in ("apply", "remove", None):
            offset = _num(event.get("offset"))
            if offset is not None:
                found.append(Marker(offset, str(event.get("fault", "")), str(event["action"])))
    for item in data.get("restarts") or []:
        offset = _num(item.get("offset"))
        t = _num(item.get("t"))
        if offset is None and t is not None and started_at is not None:
            offset = t - started_at
        if offset is not None:
            label = str(item.get("replica") or item.get("service") or "")
            found.append(Marker(offset, label, "restart"))
    return sorted(found, key=lambda m: m.offset)


def result_from_json(data: Mapping[str, Any]) -> RunResult:
    """Typed views of a verdict.json document; unknown fields are kept in ``raw``."""
    verdict = data.get("verdict")
    if not isinstance(verdict, Mapping) or "status" not in verdict:
        raise ReportError("not a verdict: there is no verdict.status in the document")
    experiment = data.get("experiment") or {}
    phases = tuple(_phase(p) for p in data.get("phases") or [])
    started = _num(data.get("started_at"))
    result = RunResult(
        name=str(experiment.get("name", "?")),
        description=str(experiment.get("description", "")),
        status=str(verdict["status"]),
        reason=str(verdict.get("reason", "")),
        objectives=tuple(_objective(o) for o in verdict.get("objectives") or []),
        phases=phases,
        fault_windows=(),
        markers=tuple(markers(data, started)),
        integrity=dict(verdict.get("integrity") or {}),
        faults_missing=tuple(str(f) for f in verdict.get("faults_missing") or []),
        started_at=started,
        ended_at=_num(data.get("ended_at")),
        results_dir=str(data.get("results_dir", "")),
        schema_version=data.get("schema_version"),
        raw=data,
    )
    windows = fault_windows(data.get("fault_events") or [], result.duration)
    return _with_windows(result, windows)


def _with_windows(result: RunResult, windows: list[FaultWindow]) -> RunResult:
    return replace(result, fault_windows=tuple(windows))


def read_json(path: Path) -> Any:
    """Parse one JSON file, naming it in the error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ReportError(f"{path} does not exist") from exc
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} could not be read as JSON: {exc}") from exc


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON object line of ``path``; a missing file reads as empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            # A report is still worth having with one damaged line left out.
            log.warning("%s, line %d is not JSON; left out", path, number)
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


@dataclass(frozen=True)
class RunFolder:
    """One run's results: the verdict and, when present, what the other files hold."""

    path: Path
    result: RunResult
    experiment: Mapping[str, Any] = field(default_factory=dict)
    stack_metrics: tuple[Mapping[str, Any], ...] = ()
    standalone: bool = False
    """A lone verdict file: the folder's other files belong to no one known."""

    def stats(self) -> LoadStats | None:
        """The per-second load statistics, or None when the folder has none."""
        path = self.path / STATS_FILE
        if self.standalone or not path.is_file():
            return None
        try:
            return load_stats(path)
        except StatsFormatError as exc:
            raise ReportError(f"the load statistics cannot be read: {exc}") from exc


def load_run(path: Path) -> RunFolder:
    """Read a results folder, or a lone verdict file (such as a saved baseline).

    The folder's other files are read only for a folder or a file named verdict.json: a
    baseline saved under another name may sit beside files of some other run.
    """
    verdict_path = path / VERDICT_FILE if path.is_dir() else path
    data = read_json(verdict_path)
    if not isinstance(data, Mapping):
        raise ReportError(f"{verdict_path} holds no JSON object")
    result = result_from_json(data)
    if verdict_path.name != VERDICT_FILE:
        return RunFolder(verdict_path.parent, result, standalone=True)
    folder = verdict_path.parent
    if not result.fault_windows and not data.get("fault_events"):
        # An older verdict without its events: faults.jsonl has the same lines.
        windows = fault_windows(read_jsonl(folder / FAULTS_FILE), result.duration)
        result = _with_windows(result, windows)
    experiment_path = folder / EXPERIMENT_FILE
    experiment = read_json(experiment_path) if experiment_path.exists() else {}
    metrics = tuple(read_jsonl(folder / STACK_METRICS_FILE))
    return RunFolder(folder, result, experiment, metrics)
