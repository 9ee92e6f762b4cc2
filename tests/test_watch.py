"""Abort guards over the recorder's newest seconds, read as the live view reads them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from harness.experiment.model import Guard
from harness.load.recorder import Recorder, append_lines
from harness.report.tail import StatsTail
from harness.watch import tripped

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


def tail_of(folder: Path, lines: list) -> StatsTail:
    """A tail that has read ``lines`` from a stats file, as the run loop does."""
    path = folder / "load-stats.jsonl"
    path.unlink(missing_ok=True)
    append_lines(path, lines)
    tail = StatsTail(path)
    tail.poll()
    return tail


def guard(**fields: object) -> Guard:
    return Guard.model_validate(fields)


def test_a_guard_trips_once_its_window_is_past_the_limit(tmp_path: Path) -> None:
    lines = stats_with(failing_from=20)
    error_guard = guard(sli="error_rate", above=20, **{"for": "5s"})

    assert tripped([error_guard], tail_of(tmp_path, lines[: 20 * 1]), T0) is None
    trip = tripped([error_guard], tail_of(tmp_path, lines), T0)

    assert trip is not None
    assert trip.value == 50.0
    assert "error_rate above 20 for 5s" in trip.reason


def test_a_healthy_run_trips_nothing(tmp_path: Path) -> None:
    lines = stats_with(failing_from=99)
    guards = [
        guard(sli="availability", below=90, **{"for": 5}),
        guard(sli="latency_p95", above=1000, **{"for": 5}),
    ]

    assert tripped(guards, tail_of(tmp_path, lines), T0) is None


def test_a_guard_waits_for_a_full_window_of_data(tmp_path: Path) -> None:
    lines = stats_with(failing_from=0, seconds=3)

    assert (
        tripped([guard(sli="availability", below=90, **{"for": 10})], tail_of(tmp_path, lines), T0)
        is None
    )
