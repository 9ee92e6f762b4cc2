"""The recorder's per-second statistics: the JSON Lines format, and reading it back.

The recorder (inside the Locust process) appends one line per completed second and
endpoint, one per second with booking journeys, one per second with the user count, one
per second in which journeys started (by kind of fan), and one per second in which
open-model arrivals were dropped::

    {"kind":"request","t":1717000000,"endpoint":"hold","count":12,
     "outcomes":{"ok":10,"expected":2},"hist":"<base64 HdrHistogram encode()>"}
    {"kind":"booking","t":1717000000,"attempts":3,"completed":2,"booking_ids":["17","18"]}
    {"kind":"users","t":1717000000,"users":20}
    {"kind":"journeys","t":1717000000,"started":{"browser":3,"buyer":7}}
    {"kind":"dropped","t":1717000000,"count":4}

``t`` is the wall-clock second (``int(time.time())``) in which a request *started*;
``hist`` holds response times in microseconds with 3 significant digits, so 495 ms and
505 ms land in different buckets. In the open model a journey's first request, the
``journeys`` and the ``dropped`` lines are dated by the journey's *intended* start, and
that first request is timed from it (see `harness.load.recorder`). A dropped arrival is
one that could not start within ``request_timeout`` of its intended start, because all
``max_concurrency`` journeys were busy (or the load generator itself fell behind), or
that was still waiting for a free slot when the load ended.

A key (kind, t, endpoint) may appear on more than one line when a request outlives the
recorder's flush delay or when Locust workers report late: readers must add such lines
up, which `load_stats` does.

This module is imported by the grader: no Locust or gevent import here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

from harness.load.outcomes import FAILURES, Outcome

HIST_LOWEST_US = 1
HIST_HIGHEST_US = 600_000_000
"""Ten minutes: longer response times are recorded as ten minutes."""
HIST_SIGNIFICANT_FIGURES = 3


def new_histogram() -> HdrHistogram:
    """An empty response-time histogram in microseconds, as every line uses."""
    return HdrHistogram(HIST_LOWEST_US, HIST_HIGHEST_US, HIST_SIGNIFICANT_FIGURES)


class StatsFormatError(ValueError):
    """A stats file line that does not follow the format above."""


@dataclass(frozen=True)
class RequestSecond:
    """Requests to one endpoint that started in second ``t``."""

    t: int
    endpoint: str
    count: int
    outcomes: Mapping[Outcome, int]
    histogram: HdrHistogram = field(compare=False, repr=False)


@dataclass(frozen=True)
class BookingSecond:
    """Booking journeys in second ``t``: holds tried, purchases acknowledged, their ids."""

    t: int
    attempts: int
    completed: int
    booking_ids: tuple[str, ...]


@dataclass(frozen=True)
class UsersSecond:
    """How many Locust users were running during second ``t``."""

    t: int
    users: int


@dataclass(frozen=True)
class JourneySecond:
    """Journeys that started (or were meant to, in the open model) in second ``t``, by kind."""

    t: int
    started: Mapping[str, int]


@dataclass(frozen=True)
class DroppedSecond:
    """Open-model arrivals meant to start in second ``t`` that never started."""

    t: int
    count: int


@dataclass(frozen=True)
class WindowStats:
    """Requests aggregated over a time window (and optionally one endpoint)."""

    count: int
    outcomes: Mapping[Outcome, int]
    histogram: HdrHistogram = field(compare=False, repr=False)

    @property
    def failures(self) -> int:
        """Requests whose outcome counts against availability (see `FAILURES`)."""
        return sum(n for outcome, n in self.outcomes.items() if outcome in FAILURES)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile response time in milliseconds; NaN for an empty window.

        The value is the highest time HdrHistogram treats as equal to the true one, so it
        is at most 0.1 % above it and never below.
        """
        if self.count == 0:
            return math.nan
        return float(self.histogram.get_value_at_percentile(p)) / 1000.0


@dataclass(frozen=True)
class BookingWindow:
    """Booking journeys summed over a time window."""

    attempts: int
    completed: int
    booking_ids: tuple[str, ...]


@dataclass(frozen=True)
class LoadStats:
    """Everything one stats file holds, one record per key, sorted by second."""

    requests: tuple[RequestSecond, ...]
    bookings: tuple[BookingSecond, ...]
    users: tuple[UsersSecond, ...]
    started_at: float | None = None
    """Wall-clock time Locust started the test (its ``test_start`` event), if written."""
    journeys: tuple[JourneySecond, ...] = ()
    drops: tuple[DroppedSecond, ...] = ()

    @property
    def endpoints(self) -> frozenset[str]:
        """The endpoint names seen in the file."""
        return frozenset(r.endpoint for r in self.requests)

    @property
    def acknowledged_booking_ids(self) -> frozenset[str]:
        """Every booking id a client was told is confirmed (a 2xx purchase answer)."""
        return frozenset(i for b in self.bookings for i in b.booking_ids)

    def window(self, start: float, end: float, endpoint: str | None = None) -> WindowStats:
        """Requests that started in the seconds ``t`` with ``start <= t < end``.

        With ``endpoint`` None every endpoint is included.
        """
        histogram = new_histogram()
        outcomes: dict[Outcome, int] = {}
        count = 0
        for record in self.requests:
            if start <= record.t < end and endpoint in (None, record.endpoint):
                count += record.count
                _add_counts(outcomes, record.outcomes)
                histogram.add(record.histogram)
        return WindowStats(count=count, outcomes=outcomes, histogram=histogram)

    def booking_window(self, start: float, end: float) -> BookingWindow:
        """Booking journeys in the seconds ``t`` with ``start <= t < end``."""
        selected = [b for b in self.bookings if start <= b.t < end]
        return BookingWindow(
            attempts=sum(b.attempts for b in selected),
            completed=sum(b.completed for b in selected),
            booking_ids=tuple(i for b in selected for i in b.booking_ids),
        )

    def journeys_started(self, start: float, end: float, kind: str | None = None) -> int:
        """Journeys started in the seconds ``t`` with ``start <= t < end`` (of one kind).

        ``kind`` is a `harness.load.config.UserKind` value ("buyer", "browser"); None
        counts every kind.
        """
        return sum(
            n
            for j in self.journeys
            if start <= j.t < end
            for name, n in j.started.items()
            if kind in (None, name)
        )

    def dropped(self, start: float, end: float) -> int:
        """Open-model arrivals meant for the seconds ``start <= t < end`` that never started."""
        return sum(d.count for d in self.drops if start <= d.t < end)

    def max_users(self, start: float, end: float) -> int:
        """The most users running in any second ``t`` with ``start <= t < end`` (0 if none)."""
        return max((u.users for u in self.users if start <= u.t < end), default=0)


def load_stats(path: Path) -> LoadStats:
    """Read a stats file; a missing file reads as empty (Locust may not have started).

    Raises `StatsFormatError` naming the line for a line that is not in the format. A
    last line without its newline is ignored: the recorder may be writing it right now.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadStats(requests=(), bookings=(), users=())
    merger = _Merger()
    for number, raw in enumerate(text.split("\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            merger.add(json.loads(raw))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StatsFormatError(f"{path}, line {number}: {exc}") from exc
    return merger.result()


def parse_lines(lines: Iterable[Mapping[str, object]]) -> LoadStats:
    """Merge already parsed lines into one record per key (see the module docstring)."""
    merger = _Merger()
    for line in lines:
        merger.add(line)
    return merger.result()


class _Merger:
    """Adds lines up by key: several lines for one key are one record."""

    def __init__(self) -> None:
        self.requests: dict[tuple[int, str], RequestSecond] = {}
        self.bookings: dict[int, BookingSecond] = {}
        self.users: dict[int, UsersSecond] = {}
        self.journeys: dict[int, dict[str, int]] = {}
        self.drops: dict[int, int] = {}
        self.started_at: float | None = None

    def add(self, line: Mapping[str, object]) -> None:
        kind = line.get("kind")
        if kind == "request":
            record = _request(line)
            key = (record.t, record.endpoint)
            old = self.requests.get(key)
            self.requests[key] = _merge_request(old, record) if old else record
        elif kind == "booking":
            booking = _booking(line)
            prior = self.bookings.get(booking.t)
            self.bookings[booking.t] = _merge_booking(prior, booking) if prior else booking
        elif kind == "users":
            # The recorder samples a second once; should two samples meet, keep the larger.
            sample = UsersSecond(t=_int(line, "t"), users=_int(line, "users"))
            seen = self.users.get(sample.t)
            if seen is None or seen.users < sample.users:
                self.users[sample.t] = sample
        elif kind == "journeys":
            self._add_journeys(line)
        elif kind == "dropped":
            second = _int(line, "t")
            self.drops[second] = self.drops.get(second, 0) + _int(line, "count")
        elif kind == "start":
            t = line.get("t")
            if isinstance(t, bool) or not isinstance(t, (int, float)):
                raise StatsFormatError(f"t: got {t!r}, expected a number")
            self.started_at = float(t) if self.started_at is None else min(self.started_at, t)
        else:
            raise StatsFormatError(f"unknown kind {kind!r}")

    def _add_journeys(self, line: Mapping[str, object]) -> None:
        started = line["started"]
        if not isinstance(started, dict):
            raise StatsFormatError(f"started: got {started!r}, expected an object")
        counts = self.journeys.setdefault(_int(line, "t"), {})
        for name in started:
            counts[str(name)] = counts.get(str(name), 0) + _int(started, name)

    def result(self) -> LoadStats:
        return LoadStats(
            requests=tuple(sorted(self.requests.values(), key=lambda r: (r.t, r.endpoint))),
            bookings=tuple(sorted(self.bookings.values(), key=lambda b: b.t)),
            users=tuple(sorted(self.users.values(), key=lambda u: u.t)),
            started_at=self.started_at,
            journeys=tuple(JourneySecond(t, self.journeys[t]) for t in sorted(self.journeys)),
            drops=tuple(DroppedSecond(t, self.drops[t]) for t in sorted(self.drops)),
        )


def _int(line: Mapping[str, object], key: str) -> int:
    value = line[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise StatsFormatError(f"{key}: got {value!r}, expected an integer")
    return value


def _request(line: Mapping[str, object]) -> RequestSecond:
    raw_outcomes = line["outcomes"]
    hist = line["hist"]
    endpoint = line["endpoint"]
    if not isinstance(raw_outcomes, dict) or not isinstance(hist, str):
        raise StatsFormatError(f"request line without outcomes or hist: {line!r}")
    return RequestSecond(
        t=_int(line, "t"),
        endpoint=str(endpoint),
        count=_int(line, "count"),
        outcomes={Outcome(name): int(n) for name, n in raw_outcomes.items()},
        histogram=HdrHistogram.decode(hist),
    )


def _booking(line: Mapping[str, object]) -> BookingSecond:
    ids = line.get("booking_ids", [])
    if not isinstance(ids, list):
        raise StatsFormatError(f"booking_ids: got {ids!r}, expected a list")
    return BookingSecond(
        t=_int(line, "t"),
        attempts=_int(line, "attempts"),
        completed=_int(line, "completed"),
        booking_ids=tuple(str(i) for i in ids),
    )


def _add_counts(into: dict[Outcome, int], more: Mapping[Outcome, int]) -> None:
    for outcome, n in more.items():
        into[outcome] = into.get(outcome, 0) + n


def _merge_request(a: RequestSecond, b: RequestSecond) -> RequestSecond:
    outcomes = dict(a.outcomes)
    _add_counts(outcomes, b.outcomes)
    histogram = new_histogram()
    histogram.add(a.histogram)
    histogram.add(b.histogram)
    return RequestSecond(a.t, a.endpoint, a.count + b.count, outcomes, histogram)


def _merge_booking(a: BookingSecond, b: BookingSecond) -> BookingSecond:
    return BookingSecond(
        t=a.t,
        attempts=a.attempts + b.attempts,
        completed=a.completed + b.completed,
        booking_ids=a.booking_ids + b.booking_ids,
    )
