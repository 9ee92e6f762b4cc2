"""Reading the stats back: windows, merged histograms, precision, and broken files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.load.outcomes import Outcome
from harness.load.recorder import ATTEMPT, COMPLETED, DROPPED, STARTED, Line, Recorder
from harness.load.stats import StatsFormatError, load_stats, parse_lines

from .test_recorder import request


def lines_for(millis: list[float], name: str = "hold", start: float = 100.0) -> list[Line]:
    recorder = Recorder()
    for value in millis:
        request(recorder, name, start, value)
    return recorder.drain_all()


def write(path: Path, lines: list[Line]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_p95_tells_495_ms_from_505_ms() -> None:
    # 90 fast requests and 10 slow ones: the 95th percentile is a slow one.
    fast = [100.0] * 90

    under = parse_lines(lines_for(fast + [495.0] * 10)).window(0, 1e12)
    over = parse_lines(lines_for(fast + [505.0] * 10)).window(0, 1e12)

    assert under.percentile(95) == pytest.approx(495.0, rel=1e-3)
    assert over.percentile(95) == pytest.approx(505.0, rel=1e-3)
    assert under.percentile(95) < 500.0 < over.percentile(95)


def test_a_window_holds_the_seconds_from_start_up_to_but_not_including_end() -> None:
    lines = lines_for([10.0], start=100.5) + lines_for([20.0], start=101.5)
    lines += lines_for([30.0], start=102.5)
    stats = parse_lines(lines)

    assert stats.window(101, 102).count == 1
    assert stats.window(101, 102).percentile(50) == pytest.approx(20.0, rel=1e-3)
    assert stats.window(100, 103).count == 3
    assert stats.window(100.5, 103).count == 2  # second 100 starts before 100.5
    assert stats.window(103, 200).count == 0


def test_a_window_merges_endpoints_outcomes_and_histograms() -> None:
    recorder = Recorder()
    for i in range(8):
        request(recorder, "browse", 100 + i / 4, 10.0)
    request(recorder, "hold", 100.5, 40.0, status=409)
    request(recorder, "hold", 101.5, 900.0, status=503, exception=RuntimeError("503"))
    request(recorder, "purchase", 101.6, 5000.0, status=0, exception=TimeoutError())
    stats = parse_lines(recorder.drain_all())

    everything = stats.window(100, 102)
    holds = stats.window(100, 102, endpoint="hold")

    assert everything.count == 11
    assert everything.outcomes == {
        Outcome.OK: 8,
        Outcome.EXPECTED: 1,
        Outcome.SERVER_ERROR: 1,
        Outcome.TIMEOUT: 1,
    }
    assert everything.failures == 2
    assert everything.percentile(100) == pytest.approx(5000.0, rel=1e-3)
    assert holds.count == 2 and holds.failures == 1
    assert holds.percentile(50) == pytest.approx(40.0, rel=1e-3)
    assert stats.endpoints == {"browse", "hold", "purchase"}


def test_lines_for_one_key_are_added_up() -> None:
    first = lines_for([10.0] * 3)
    late = lines_for([800.0])  # a slow request written after its second was drained

    stats = parse_lines(first + late)

    (record,) = stats.requests
    assert record.count == 4 and record.outcomes == {Outcome.OK: 4}
    assert stats.window(0, 1e12).percentile(100) == pytest.approx(800.0, rel=1e-3)


def test_an_empty_window_has_no_percentile() -> None:
    assert math.isnan(parse_lines([]).window(0, 10).percentile(95))


def test_bookings_and_users_are_summed_over_a_window() -> None:
    recorder = Recorder()
    for second, booking_id in ((100.1, "a"), (101.1, "b"), (102.1, "c")):
        recorder.on_journey(stage=ATTEMPT, start_time=second)
        recorder.on_journey(stage=COMPLETED, start_time=second, booking_id=booking_id)
    recorder.on_journey(stage=ATTEMPT, start_time=101.9)
    for second, users in ((100, 5), (101, 10), (102, 20)):
        recorder.sample_users(second, users)
    other_worker = {
        "kind": "booking",
        "t": 101,
        "attempts": 1,
        "completed": 1,
        "booking_ids": ["d"],
    }
    stats = parse_lines([*recorder.drain_all(), other_worker])

    window = stats.booking_window(101, 103)

    assert (window.attempts, window.completed) == (4, 3)
    assert sorted(window.booking_ids) == ["b", "c", "d"]
    assert stats.acknowledged_booking_ids == {"a", "b", "c", "d"}
    assert stats.max_users(100, 102) == 10
    assert stats.max_users(200, 300) == 0


def test_journeys_started_and_dropped_arrivals_are_summed_over_a_window() -> None:
    recorder = Recorder()
    for second, kind in ((100.2, "buyer"), (100.4, "browser"), (101.3, "buyer"), (102.5, "buyer")):
        recorder.on_journey(stage=STARTED, start_time=second, user_kind=kind)
    for second in (100.5, 101.1, 101.2, 103.0):
        recorder.on_journey(stage=DROPPED, start_time=second)
    late_worker = [
        {"kind": "journeys", "t": 101, "started": {"browser": 2}},
        {"kind": "dropped", "t": 101, "count": 3},
    ]
    stats = parse_lines([*recorder.drain_all(), *late_worker])

    assert stats.journeys_started(100, 102) == 5
    assert stats.journeys_started(100, 102, "buyer") == 2
    assert stats.journeys_started(100, 102, "browser") == 3
    assert stats.journeys_started(0, 1e12) == 6
    assert stats.dropped(101, 102) == 5
    assert stats.dropped(0, 1e12) == 7
    assert stats.dropped(104, 200) == 0


def test_a_missing_file_reads_as_empty(tmp_path: Path) -> None:
    stats = load_stats(tmp_path / "nothing.jsonl")

    assert stats.requests == () and stats.bookings == () and stats.users == ()


def test_a_last_line_still_being_written_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "stats.jsonl", lines_for([10.0]))
    with path.open("a", encoding="utf-8") as stream:
        stream.write('{"kind":"request","t":1')

    assert load_stats(path).window(0, 1e12).count == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"kind": "weather", "t": 1}, "unknown kind 'weather'"),
        ({"kind": "users", "t": "1", "users": 2}, "t: got '1'"),
        ({"kind": "booking", "t": 1, "attempts": 1}, "completed"),
        ({"kind": "dropped", "t": 1, "count": 1.5}, "count: got 1.5"),
        ({"kind": "journeys", "t": 1, "started": [1]}, "started: got \\[1\\]"),
        ({"kind": "journeys", "t": 1, "started": {"buyer": "2"}}, "buyer: got '2'"),
    ],
)
def test_a_broken_line_is_reported_with_its_number(
    tmp_path: Path, bad: dict[str, object], message: str
) -> None:
    path = write(tmp_path / "stats.jsonl", [*lines_for([10.0]), bad])

    with pytest.raises(StatsFormatError, match=f"stats.jsonl, line 2: .*{message}"):
        load_stats(path)


def test_an_unknown_outcome_name_is_a_format_error(tmp_path: Path) -> None:
    (line,) = lines_for([10.0])
    line["outcomes"] = {"fine": 1}

    with pytest.raises(StatsFormatError, match="line 1"):
        load_stats(write(tmp_path / "stats.jsonl", [line]))
