"""Results folders made from code: a short run graded by the real grader.

`make_run` writes what `harness run` writes (experiment.json, load-stats.jsonl,
faults.jsonl, verdict.json) for a synthetic load: two endpoints, steady and fast,
and inside the fault window slow (and optionally failing) requests. The verdict comes
from `grade_run`, so the reports are tested on the grader's real output.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.experiment.model import Experiment
from harness.faults.timeline import FaultEvent
from harness.grading.grader import grade_run
from harness.grading.integrity import IntegrityReport
from harness.load.stats import load_stats, new_histogram

T0 = 1_800_000_000.0


@dataclass(frozen=True)
class Load:
    """The synthetic load: per second, per endpoint."""

    seconds: int = 60
    per_second: int = 20
    fast_ms: float = 20.0
    slow_ms: float = 900.0
    slow_share: float = 0.5  # share of requests that are slow inside the fault
    fail_share: float = 0.0  # share of requests answered 503 inside the fault
    fault: tuple[float, float] | None = (20.0, 40.0)


def experiment_data(load: Load, objectives: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "replay",
        "description": "Does booking hold its SLOs when the database slows down?",
        "load": {"stages": [{"duration": load.seconds, "users": 40, "spawn_rate": 40}]},
        "faults": [],
    }
    if load.fault:
        start, end = load.fault
        data["faults"] = [
            {
                "name": "db-latency",
                "type": "latency",
                "at": start,
                "duration": end - start,
                "attributes": {"latency": 800},
            }
        ]
    if objectives is not None:
        data["objectives"] = objectives
    return data


@functools.lru_cache(maxsize=64)
def _encoded(times_ms: tuple[float, ...]) -> str:
    histogram = new_histogram()
    for value in times_ms:
        histogram.record_value(int(value * 1000))
    return str(histogram.encode().decode("ascii"))


def _request_line(t: int, endpoint: str, times_ms: list[float], fails: int) -> dict[str, Any]:
    outcomes = {"ok": len(times_ms) - fails}
    if fails:
        outcomes["server_error"] = fails
    return {
        "kind": "request",
        "t": t,
        "endpoint": endpoint,
        "count": len(times_ms),
        "outcomes": outcomes,
        "hist": _encoded(tuple(times_ms)),
    }


def stats_lines(load: Load) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"kind": "start", "t": T0}]
    for offset in range(load.seconds):
        t = int(T0) + offset
        in_fault = bool(load.fault and load.fault[0] <= offset + 0.5 < load.fault[1])
        slow = int(load.per_second * load.slow_share) if in_fault else 0
        fails = int(load.per_second * load.fail_share) if in_fault else 0
        for endpoint in ("browse", "hold"):
            times = [load.slow_ms] * slow + [load.fast_ms] * (load.per_second - slow)
            lines.append(_request_line(t, endpoint, times, fails))
        lines.append({"kind": "booking", "t": t, "attempts": 4, "completed": 4,
                      "booking_ids": [f"{offset}-{i}" for i in range(4)]})  # fmt: skip
        lines.append({"kind": "users", "t": t, "users": 40})
    return lines


def fault_events(load: Load) -> list[FaultEvent]:
    if not load.fault:
        return []
    start, end = load.fault
    return [
        FaultEvent(T0 + start, start, "db-latency", "apply", True, '{"type": "latency"}'),
        FaultEvent(T0 + end, end, "db-latency", "remove", True, ""),
    ]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_run(
    root: Path,
    load: Load | None = None,
    *,
    objectives: list[dict[str, Any]] | None = None,
    integrity_ok: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A results folder under ``root`` graded by the real grader; returns its path."""
    load = load or Load()
    folder = root / "20300101-000000-replay"
    folder.mkdir(parents=True)
    data = experiment_data(load, objectives)
    experiment = Experiment.model_validate(data)
    (folder / "experiment.json").write_text(
        json.dumps(experiment.model_dump(mode="json"), indent=2), encoding="utf-8"
    )
    write_jsonl(folder / "load-stats.jsonl", stats_lines(load))
    events = fault_events(load)
    write_jsonl(folder / "faults.jsonl", [e.__dict__ for e in events])
    integrity = IntegrityReport(checked=True, acknowledged=4 * load.seconds)
    if not integrity_ok:
        integrity.lost_bookings = ["7-1"]
    result = grade_run(
        experiment,
        load_stats(folder / "load-stats.jsonl"),
        t0=T0,
        t_end=T0 + load.seconds,
        integrity=integrity,
        fault_events=events,
    )
    result.update({"schema_version": 1, "results_dir": str(folder), "stack": {}})
    result.update(extra or {})
    (folder / "verdict.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return folder


ABORTED_BEFORE_LOAD: dict[str, Any] = {
    "schema_version": 1,
    "experiment": {"name": "replay", "description": "interrupted early"},
    "started_at": None,
    "ended_at": T0,
    "verdict": {
        "status": "aborted",
        "reason": "aborted before the load started: interrupted (Ctrl-C or SIGTERM)",
        "objectives": [],
        "integrity": {},
        "faults_missing": [],
    },
    "phases": [],
    "fault_events": [],
}


def write_verdict(root: Path, data: dict[str, Any]) -> Path:
    """A folder holding only verdict.json."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "verdict.json").write_text(json.dumps(data), encoding="utf-8")
    return root
