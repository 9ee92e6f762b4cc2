"""The live view: an incremental stats reader, snapshots as graded, terminal and plain output."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from harness.experiment.model import Experiment
from harness.faults.timeline import FaultEvent
from harness.report.live import LiveFeed, LiveSnapshot, LiveView, ObjectiveNow, active_faults
from harness.report.tail import StatsTail

from .runs import T0, Load, experiment_data, stats_lines


def append(path: Path, rows: list[dict[str, object]], partial: str = "") -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(json.dumps(r) + "\n" for r in rows) + partial)


def test_the_tail_reads_only_what_was_appended(tmp_path: Path) -> None:
    path = tmp_path / "load-stats.jsonl"
    lines = stats_lines(Load(seconds=10, fault=None))
    tail = StatsTail(path)

    assert tail.poll() == 0  # no file yet
    append(path, lines[:20])
    first = tail.poll()
    append(path, lines[20:])
    second = tail.poll()

    assert (first, second) == (20, len(lines) - 20)
    assert tail.poll() == 0
    assert tail.window(100).requests == 10 * 2 * 20


def test_a_line_without_its_newline_waits_for_the_next_poll(tmp_path: Path) -> None:
    path = tmp_path / "load-stats.jsonl"
    request = stats_lines(Load(seconds=1, fault=None))[1]
    text = json.dumps(request)
    tail = StatsTail(path)

    append(path, [], partial=text[:30])
    assert tail.poll() == 0
    append(path, [], partial=text[30:] + "\n")

    assert tail.poll() == 1
    assert tail.window(5).requests == 20


def test_a_late_line_adds_to_its_second(tmp_path: Path) -> None:
    path = tmp_path / "load-stats.jsonl"
    request = stats_lines(Load(seconds=1, fault=None))[1]
    tail = StatsTail(path)

    append(path, [request])
    tail.poll()
    append(path, [request])
    tail.poll()

    assert tail.window(1).requests == 40


def test_old_seconds_are_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "load-stats.jsonl"
    append(path, stats_lines(Load(seconds=30, fault=None)))
    tail = StatsTail(path, keep_seconds=5)

    tail.poll()

    assert tail.window(1000).requests == 5 * 2 * 20


def feed_at(tmp_path: Path, seconds: int, load: Load) -> tuple[LiveFeed, float]:
    experiment = Experiment.model_validate(experiment_data(load))
    path = tmp_path / "load-stats.jsonl"
    rows = [
        r for r in stats_lines(load) if not isinstance(r.get("t"), int) or r["t"] < T0 + seconds
    ]
    append(path, rows)
    return LiveFeed(experiment, path, window=5), T0 + seconds + 2


def test_a_snapshot_in_the_fault_window_shows_the_breach(tmp_path: Path) -> None:
    feed, now = feed_at(tmp_path, 30, Load(seconds=60, fault=(20.0, 40.0)))

    snapshot = feed.snapshot(T0, now)

    assert snapshot.phase == "fault:db-latency"
    assert snapshot.active_faults == ("db-latency",)
    assert snapshot.users == 40
    assert snapshot.rps is not None and abs(snapshot.rps - 40) < 1e-9
    assert snapshot.p95 is not None and abs(snapshot.p95 - 900) < 1
    assert snapshot.breaches == ("latency_p95",)


def test_a_snapshot_before_the_fault_breaches_nothing(tmp_path: Path) -> None:
    feed, now = feed_at(tmp_path, 15, Load(seconds=60, fault=(20.0, 40.0)))

    snapshot = feed.snapshot(T0, now)

    assert snapshot.phase == "baseline" and snapshot.active_faults == ()
    assert snapshot.breaches == ()


def test_active_faults_follow_the_timeline_events() -> None:
    events = [
        FaultEvent(1.0, 1.0, "a", "apply", True),
        FaultEvent(2.0, 2.0, "b", "apply", False),
        FaultEvent(3.0, 3.0, "c", "apply", True),
        FaultEvent(4.0, 4.0, "a", "remove", True),
    ]

    assert active_faults(events) == ("c",)


def snap(elapsed: float, phase: str = "baseline", breached: bool = False) -> LiveSnapshot:
    objective = ObjectiveNow("latency_p95", "< 500 ms", "ms", 900.0 if breached else 20.0, breached)
    return LiveSnapshot(elapsed, 90.0, phase, (), 40, 40.0, 0.0, 20.0, (objective,))


def test_plain_output_prints_on_change_and_every_few_seconds() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200)

    with LiveView(Experiment.model_validate(experiment_data(Load())), console, every=10) as view:
        for second in range(25):
            view.update(snap(second, "baseline" if second < 12 else "fault:db-latency",
                             breached=second >= 14))  # fmt: skip

    lines = out.getvalue().splitlines()
    assert [line.split("]")[0] for line in lines] == ["[   0s/90s", "[  10s/90s", "[  12s/90s",
                                                      "[  14s/90s", "[  24s/90s"]  # fmt: skip
    assert lines[3].endswith("BREACHED: latency_p95")
    assert "phase fault:db-latency" in lines[2]


def test_a_terminal_gets_a_panel_that_turns_red_on_a_breach() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system="truecolor")

    with LiveView(Experiment.model_validate(experiment_data(Load())), console) as view:
        view.update(snap(30.0, "fault:db-latency", breached=True))

    text = out.getvalue()
    assert "replay: live" in text and "BREACHED" in text and "fault:db-latency" in text
    assert "\x1b[31m" in text  # red border


def test_a_terminal_panel_without_breach_has_no_red() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=True, color_system="truecolor")

    with LiveView(Experiment.model_validate(experiment_data(Load())), console) as view:
        view.update(snap(10.0))

    assert "31m" not in out.getvalue() and "ok" in out.getvalue()


def test_a_snapshot_ignores_seconds_after_now(tmp_path: Path) -> None:
    experiment = Experiment.model_validate(experiment_data(Load(seconds=60)))
    path = tmp_path / "load-stats.jsonl"
    rows = stats_lines(Load(seconds=60, fault=(20.0, 40.0)))  # the whole run
    rows.append({"kind": "users", "t": int(T0) + 70, "users": 3})  # later: not yet seen
    append(path, rows)
    feed = LiveFeed(experiment, path, window=5)

    snapshot = feed.snapshot(T0, T0 + 35)

    assert snapshot.users == 40
    assert snapshot.p95 is not None and abs(snapshot.p95 - 900) < 1  # seconds 30-34
    assert snapshot.breaches == ("latency_p95",)
