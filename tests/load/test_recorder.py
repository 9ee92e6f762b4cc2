"""The recorder, fed fake Locust request events: bucketing, outcomes, draining, merging."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from harness.load.recorder import (
    ATTEMPT,
    COMPLETED,
    DROPPED,
    INTENDED_START,
    STARTED,
    Recorder,
    append_lines,
    slot_of,
)
from harness.load.stats import HIST_HIGHEST_US, new_histogram, parse_lines


@dataclass
class FakeResponse:
    status_code: int


def request(
    recorder: Recorder,
    name: str,
    start: float,
    millis: float,
    status: int = 200,
    exception: BaseException | None = None,
    context: dict[str, float] | None = None,
) -> None:
    """Fire what Locust's FastHttpSession passes to events.request."""
    recorder.on_request(
        request_type="GET",
        name=name,
        response_time=millis,
        response_length=10,
        response=FakeResponse(status),
        context={} if context is None else context,
        exception=exception,
        start_time=start,
        url="http://127.0.0.1/x",
    )


def test_requests_are_filed_under_the_second_they_started_in() -> None:
    recorder = Recorder()
    request(recorder, "hold", start=100.9, millis=800.0)  # ends in second 101
    request(recorder, "hold", start=101.0, millis=5.0)

    lines = recorder.drain(now=1000.0)

    assert [(line["t"], line["count"]) for line in lines] == [(100, 1), (101, 1)]


def test_a_request_line_has_the_exact_format() -> None:
    recorder = Recorder()
    request(recorder, "hold", 100.2, 12.0)
    request(recorder, "hold", 100.4, 14.0, status=409)  # marked success: expected
    request(recorder, "hold", 100.5, 5000.0, status=0, exception=TimeoutError())

    (line,) = recorder.drain(now=1000.0)

    assert list(line) == ["kind", "t", "endpoint", "count", "outcomes", "hist"]
    assert line["kind"] == "request" and line["t"] == 100 and line["endpoint"] == "hold"
    assert line["count"] == 3
    assert line["outcomes"] == {"ok": 1, "expected": 1, "timeout": 1}
    histogram = HdrHistogram.decode(line["hist"])
    assert histogram.get_total_count() == 3
    assert histogram.get_max_value() == pytest.approx(5_000_000, rel=1e-3)


def test_endpoints_get_separate_lines_and_only_non_zero_outcomes() -> None:
    recorder = Recorder()
    for i in range(4):
        request(recorder, "browse", 100.0 + i / 10, 3.0)
    request(recorder, "purchase", 100.5, 30.0, status=503, exception=RuntimeError("503"))

    lines = {line["endpoint"]: line for line in recorder.drain(now=1000.0)}

    assert lines["browse"]["count"] == 4 and lines["browse"]["outcomes"] == {"ok": 4}
    assert lines["purchase"]["outcomes"] == {"server_error": 1}


def test_a_second_is_drained_once_it_ended_lag_seconds_ago() -> None:
    recorder = Recorder(lag=2.0)
    request(recorder, "browse", 100.5, 1.0)

    assert recorder.drain(now=102.99) == []  # second 100 ended at 101; 101 + 2 > 102.99
    assert [line["t"] for line in recorder.drain(now=103.0)] == [100]
    assert recorder.drain(now=200.0) == []  # drained lines are gone


def test_a_request_outliving_the_lag_is_written_on_a_later_line_for_its_second() -> None:
    recorder = Recorder(lag=2.0)
    request(recorder, "purchase", 100.1, 10.0)
    first = recorder.drain(now=103.0)
    request(recorder, "purchase", 100.2, 4000.0)  # reported at 104.2
    second = recorder.drain(now=105.0)

    stats = parse_lines(first + second)

    (record,) = stats.requests
    assert (record.t, record.count) == (100, 2)


def test_drain_all_takes_incomplete_seconds_too() -> None:
    recorder = Recorder()
    request(recorder, "browse", 100.5, 1.0)
    recorder.sample_users(100.5, 7)

    assert recorder.drain(now=100.6) == []
    assert [line["kind"] for line in recorder.drain_all()] == ["request", "users"]


def test_booking_journeys_and_users_get_their_own_lines() -> None:
    recorder = Recorder()
    recorder.on_journey(stage=ATTEMPT, start_time=100.2)
    recorder.on_journey(stage=ATTEMPT, start_time=100.7)
    recorder.on_journey(stage=COMPLETED, start_time=100.9, booking_id="17")
    recorder.sample_users(100.5, 20)

    lines = recorder.drain(now=1000.0)

    assert lines == [
        {"kind": "booking", "t": 100, "attempts": 2, "completed": 1, "booking_ids": ["17"]},
        {"kind": "users", "t": 100, "users": 20},
    ]


def test_a_late_first_request_is_filed_and_timed_from_its_intended_start() -> None:
    recorder = Recorder()
    # Meant to start at 100.8; no slot was free until 102.3; the service took 1 s.
    request(recorder, "browse", 102.3, 1000.0, context={INTENDED_START: 100.8})
    request(recorder, "browse", 102.4, 20.0)  # no intended start: as it happened

    lines = recorder.drain(now=1000.0)
    stats = parse_lines(lines)

    assert [(line["t"], line["count"]) for line in lines] == [(100, 1), (102, 1)]
    assert stats.window(100, 101).percentile(100) == pytest.approx(2500.0, rel=1e-3)
    assert stats.window(102, 103).percentile(100) == pytest.approx(20.0, rel=1e-3)


def test_a_request_that_started_on_time_is_not_corrected() -> None:
    recorder = Recorder()
    request(recorder, "browse", 100.5, 30.0, context={INTENDED_START: 100.5})

    (line,) = recorder.drain(now=1000.0)

    assert line["t"] == 100
    assert HdrHistogram.decode(line["hist"]).get_max_value() == pytest.approx(30_000, rel=1e-3)


def test_journey_starts_by_kind_and_dropped_arrivals_get_their_own_lines() -> None:
    recorder = Recorder()
    recorder.on_journey(stage=STARTED, start_time=100.1, user_kind="buyer")
    recorder.on_journey(stage=STARTED, start_time=100.6, user_kind="browser")
    recorder.on_journey(stage=STARTED, start_time=100.9, user_kind="buyer")
    recorder.on_journey(stage=DROPPED, start_time=100.2)
    recorder.on_journey(stage=DROPPED, start_time=101.2)
    recorder.on_journey(stage=DROPPED, start_time=101.7)

    lines = recorder.drain(now=1000.0)

    assert lines == [
        {"kind": "journeys", "t": 100, "started": {"browser": 1, "buyer": 2}},
        {"kind": "dropped", "t": 100, "count": 1},
        {"kind": "dropped", "t": 101, "count": 2},
    ]


def test_an_unknown_journey_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="'paid'"):
        Recorder().on_journey(stage="paid", start_time=1.0)


def test_a_request_without_start_time_is_dated_from_its_end() -> None:
    recorder = Recorder(clock=lambda: 200.3)
    recorder.on_request(name="browse", response_time=500.0, response=FakeResponse(200))

    assert recorder.drain(now=1000.0)[0]["t"] == 199


def test_slots_match_hdrhistograms_own_layout() -> None:
    reference = new_histogram()
    values = [0, 1, 2047, 2048, 2049, 4095, 4096, 495_000, 505_000, HIST_HIGHEST_US]
    values += random.Random(7).sample(range(HIST_HIGHEST_US), 2000)

    for value in values:
        assert slot_of(value) == reference._counts_index_for(value), value


def test_the_histogram_equals_one_recorded_value_by_value() -> None:
    rng = random.Random(3)
    millis = [rng.lognormvariate(3, 1.5) for _ in range(5000)] + [0.0004, 999_999.0]
    recorder = Recorder()
    direct = new_histogram()
    for value in millis:
        request(recorder, "browse", 100.0, value)
        direct.record_value(min(int(value * 1000), HIST_HIGHEST_US))

    (line,) = recorder.drain(now=1000.0)
    ours = HdrHistogram.decode(line["hist"])

    assert line["hist"] == direct.encode().decode("ascii")
    for p in (50, 90, 95, 99, 99.9, 100):
        assert ours.get_value_at_percentile(p) == direct.get_value_at_percentile(p)


def test_merging_worker_lines_equals_recording_everything_in_one_place() -> None:
    rng = random.Random(11)
    names = ["browse", "hold"]
    events = [(rng.choice(names), 100 + rng.random() * 3, rng.random() * 900) for _ in range(300)]
    master, worker_a, worker_b, single = Recorder(), Recorder(), Recorder(), Recorder()
    for i, (name, start, millis) in enumerate(events):
        request(worker_a if i % 2 else worker_b, name, start, millis)
        request(single, name, start, millis)
    for recorder in (worker_a, single):
        recorder.on_journey(stage=COMPLETED, start_time=100.5, booking_id="1")
        recorder.on_journey(stage=STARTED, start_time=100.5, user_kind="buyer")
        recorder.on_journey(stage=DROPPED, start_time=101.5)
    for recorder in (worker_b, single):
        recorder.on_journey(stage=STARTED, start_time=100.7, user_kind="buyer")
        recorder.on_journey(stage=STARTED, start_time=100.8, user_kind="browser")
        recorder.on_journey(stage=DROPPED, start_time=101.1)

    master.merge(worker_a.drain_all())
    master.merge(worker_b.drain_all())

    assert master.drain_all() == single.drain_all()


def test_merge_refuses_unknown_outcome_names() -> None:
    line = Recorder()
    request(line, "browse", 100.0, 1.0)
    (drained,) = line.drain_all()
    drained["outcomes"] = {"fine": 1}

    with pytest.raises(ValueError, match="'fine'"):
        Recorder().merge([drained])


def test_lines_are_appended_as_compact_json(tmp_path: Path) -> None:
    path = tmp_path / "stats.jsonl"
    append_lines(path, [{"kind": "users", "t": 1, "users": 2}])
    append_lines(path, [])
    append_lines(path, [{"kind": "users", "t": 2, "users": 3}])

    text = path.read_text(encoding="utf-8")

    assert text == '{"kind":"users","t":1,"users":2}\n{"kind":"users","t":2,"users":3}\n'
    assert [json.loads(line)["t"] for line in text.splitlines()] == [1, 2]
