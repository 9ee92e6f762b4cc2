"""Abort guards over the recorder's stats, and reading a growing stats file."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness.experiment.model import Guard
from harness.load.recorder import Recorder, append_lines
from harness.load.stats import parse_lines
from harness.watch import StatsTail, tripped

T0 = 2_000_000


def stats_with(failing_from: int, seconds: int = 30, per_second: int = 10):
    """``seconds`` of requests; from ``failing_from`` on, every other one is a 503."""
    recorder = Recorder(clock=lambda: T0 + 1000)
    for second in range(seconds):
        for i in range(per_second):
            failing = second >= failing_from and i % 2 == 0
            response = SimpleNamespace(status_code=503 if failing else 200)
            recorder.on_request(
                "browse",
                20.0,
                start_time=T0 + second + i / per_second,
                response=response,
                exception=Exception() if failing else None,
            )
    return recorder.drain_all()


def guard(**fields: object) -> Guard:
    return Guard.model_validate(fields)


def test_a_guard_trips_once_its_window_is_past_the_limit() -> None:
    lines = stats_with(failing_from=20)
    error_guard = guard(sli="error_rate", above=20, **{"for": "5s"})

    assert tripped([error_guard], parse_lines(lines[: 20 * 1]), T0) is None
    trip = tripped([error_guard], parse_lines(lines), T0)

    assert trip is not None
    assert trip.value == 50.0
    assert "error_rate above 20 for 5s" in trip.reason


def test_a_healthy_run_trips_nothing() -> None:
    lines = stats_with(failing_from=99)
    guards = [
        guard(sli="availability", below=90, **{"for": 5}),
        guard(sli="latency_p95", above=1000, **{"for": 5}),
    ]

    assert tripped(guards, parse_lines(lines), T0) is None


def test_a_guard_waits_for_a_full_window_of_data() -> None:
    lines = stats_with(failing_from=0, seconds=3)

    assert (
        tripped([guard(sli="availability", below=90, **{"for": 10})], parse_lines(lines), T0)
        is None
    )


def test_the_tail_reads_only_complete_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "stats.jsonl"
    lines = stats_with(failing_from=99, seconds=4)
    tail = StatsTail(path)

    assert tail.poll().requests == ()
    append_lines(path, lines[:2])
    with open(path, "a") as out:
        out.write(json.dumps(lines[2])[:10])  # a line the recorder is still writing
    first = tail.poll()
    with open(path, "a") as out:
        out.write(json.dumps(lines[2])[10:] + "\n")
    second = tail.poll()

    assert len(first.requests) == 2
    assert len(second.requests) == 3
