"""The fault timeline against an in-memory Toxiproxy client that records every call."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.errors import FaultError
from harness.experiment.model import Fault
from harness.faults.timeline import FaultTimeline

# Scheduling runs on a thread; allow a slow, busy CI machine plenty of room.
LATE = 0.5
DEADLINE = 5.0


@dataclass
class Call:
    """One call made to the fake client, with when it arrived."""

    t: float
    method: str
    args: tuple[Any, ...]


@dataclass
class FakeToxiproxy:
    """Stands in for ToxiproxyClient: records calls, fails the ones it is told to."""

    fail: set[str] = field(default_factory=set)  # "<method>:<toxic or proxy>" to refuse
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, method: str, target: str, *args: Any) -> None:
        with self.lock:
            self.calls.append(Call(time.time(), method, (target, *args)))
        if f"{method}:{target}" in self.fail:
            raise FaultError(f"Toxiproxy refused {method} {target}")

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        self._call("add_toxic", toxic["name"], proxy, toxic)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("remove_toxic", name, proxy)

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self._call("set_enabled", proxy, enabled)

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, int]) -> None:
        self._call("update_toxic", name, dict(attributes))

    def reset_proxy(self, proxy: str) -> None:
        self._call("reset_proxy", proxy)

    def methods(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(c.method, c.args[0]) for c in self.calls]

    def first(self, method: str, target: str) -> Call:
        with self.lock:
            return next(c for c in self.calls if (c.method, c.args[0]) == (method, target))


def fault(**fields: Any) -> Fault:
    fields.setdefault("type", "latency")
    return Fault.model_validate(fields)


def wait_for(condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def client() -> FakeToxiproxy:
    return FakeToxiproxy()


@pytest.fixture
def make_timeline(client: FakeToxiproxy, tmp_path: Path) -> Iterator[Callable[..., FaultTimeline]]:
    made: list[FaultTimeline] = []

    def make(*faults: Fault) -> FaultTimeline:
        events = tmp_path / "faults.jsonl"
        timeline = FaultTimeline(list(faults), client, events)  # type: ignore[arg-type]
        made.append(timeline)
        return timeline

    yield make
    for timeline in made:
        timeline.stop()


def test_toxic_is_added_at_its_start_and_removed_at_its_end(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    slow = fault(name="slow", at=0.2, duration=0.3, attributes={"latency": 150, "jitter": 10})
    timeline = make_timeline(slow)

    t0 = time.time()
    timeline.start(t0)
    wait_for(lambda: ("remove_toxic", "slow") in client.methods())

    added, removed = client.first("add_toxic", "slow"), client.first("remove_toxic", "slow")
    assert 0.2 - 0.01 <= added.t - t0 < 0.2 + LATE
    assert 0.5 - 0.01 <= removed.t - t0 < 0.5 + LATE
    assert added.args[1:] == (
        "postgres",
        {
            "name": "slow",
            "type": "latency",
            "stream": "downstream",
            "toxicity": 1.0,
            "attributes": {"latency": 150, "jitter": 10},
        },
    )
    assert removed.args == ("slow", "postgres")


def test_down_disables_the_proxy_then_enables_it(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    timeline = make_timeline(fault(name="outage", type="down", at=0.05, duration=0.2))

    timeline.start(time.time())
    wait_for(lambda: len(timeline.events) == 2)

    calls = [(c.method, c.args) for c in client.calls]
    assert calls == [("set_enabled", ("postgres", False)), ("set_enabled", ("postgres", True))]
    assert [(e.action, e.ok) for e in timeline.events] == [("apply", True), ("remove", True)]


def test_removal_comes_before_an_application_due_at_the_same_moment(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    first = fault(name="first", at=0.0, duration=0.2)
    second = fault(name="second", at=0.2, duration=0.1)
    timeline = make_timeline(second, first)

    timeline.start(time.time())
    wait_for(lambda: len(timeline.events) == 4)

    assert client.methods() == [
        ("add_toxic", "first"),
        ("remove_toxic", "first"),
        ("add_toxic", "second"),
        ("remove_toxic", "second"),
    ]


def test_stop_removes_active_faults_and_resets_the_proxies_it_touched(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    timeline = make_timeline(
        fault(name="slow", at=0.0, duration=60),
        fault(name="outage", type="down", at=0.0, duration=60),
        fault(name="never", type="timeout", at=50, duration=5),
    )
    timeline.start(time.time())
    wait_for(lambda: len(timeline.events) == 2)

    started = time.monotonic()
    timeline.stop()

    assert time.monotonic() - started < 2.0  # does not wait for the schedule
    assert sorted(client.methods()[2:4]) == [("remove_toxic", "slow"), ("set_enabled", "postgres")]
    assert client.methods()[-1] == ("reset_proxy", "postgres")
    assert ("add_toxic", "never") not in client.methods()
    assert {(e.fault, e.action, e.ok) for e in timeline.events} == {
        ("slow", "apply", True),
        ("outage", "apply", True),
        ("slow", "remove", True),
        ("outage", "remove", True),
    }


def test_stop_is_idempotent_and_safe_before_start(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    timeline = make_timeline(fault(name="slow", at=0.0, duration=60))

    timeline.stop()
    timeline.stop()

    assert client.methods() == [("reset_proxy", "postgres"), ("reset_proxy", "postgres")]
    assert timeline.events == []


def test_failed_application_is_recorded_and_the_schedule_goes_on(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    client.fail.add("add_toxic:broken")
    timeline = make_timeline(
        fault(name="broken", at=0.0, duration=0.1),
        fault(name="fine", type="timeout", at=0.15, duration=0.1, attributes={"timeout": 0}),
    )

    timeline.start(time.time())
    wait_for(lambda: ("remove_toxic", "fine") in client.methods())
    wait_for(lambda: len(timeline.events) == 3)

    assert [(e.fault, e.action, e.ok) for e in timeline.events] == [
        ("broken", "apply", False),
        ("fine", "apply", True),
        ("fine", "remove", True),
    ]
    assert "Toxiproxy refused add_toxic broken" in timeline.events[0].detail
    assert ("remove_toxic", "broken") not in client.methods()


def test_failed_removal_is_recorded_and_stop_still_resets(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    client.fail.add("remove_toxic:stuck")
    timeline = make_timeline(fault(name="stuck", at=0.0, duration=0.1))

    timeline.start(time.time())
    wait_for(lambda: len(timeline.events) == 2)
    timeline.stop()

    assert [(e.action, e.ok) for e in timeline.events] == [("apply", True), ("remove", False)]
    assert client.methods()[-1] == ("reset_proxy", "postgres")


def test_failing_reset_does_not_raise(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    client.fail.add("reset_proxy:postgres")
    timeline = make_timeline(fault(name="slow", at=0.0, duration=60))

    timeline.stop()

    assert client.methods() == [("reset_proxy", "postgres")]


def test_events_are_written_to_faults_jsonl(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline], tmp_path: Path
) -> None:
    client.fail.add("add_toxic:broken")
    timeline = make_timeline(
        fault(name="slow", at=0.0, duration=0.1, attributes={"latency": 5}),
        fault(name="broken", type="timeout", at=0.05, duration=0.1),
    )
    t0 = time.time()

    timeline.start(t0)
    wait_for(lambda: len(timeline.events) == 3)

    lines = (tmp_path / "faults.jsonl").read_text().splitlines()
    written = [json.loads(line) for line in lines]
    assert [(w["fault"], w["action"], w["ok"]) for w in written] == [
        ("slow", "apply", True),
        ("broken", "apply", False),
        ("slow", "remove", True),
    ]
    for entry, event in zip(written, timeline.events, strict=True):
        assert set(entry) == {"t", "offset", "fault", "action", "ok", "detail", "evidence"}
        assert entry["t"] == event.t
        assert entry["offset"] == pytest.approx(entry["t"] - t0)
    assert json.loads(written[0]["detail"])["attributes"] == {"latency": 5}


def test_a_ramp_updates_the_toxic_on_its_way_to_the_target(
    client: FakeToxiproxy, make_timeline: Callable[..., FaultTimeline]
) -> None:
    ramped = fault(
        name="creep",
        at=0.0,
        duration=0.4,
        attributes={"latency": 0},
        ramp={"to": {"latency": 400}, "every": 0.1},
    )
    timeline = make_timeline(ramped)

    timeline.start(time.time())
    wait_for(lambda: ("remove_toxic", "creep") in client.methods())

    updates = [c.args[1]["latency"] for c in client.calls if c.method == "update_toxic"]
    assert updates == [100, 200, 300]
    assert [e.action for e in timeline.events] == ["apply", "update", "update", "update", "remove"]
