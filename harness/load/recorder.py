"""Per-second request statistics, fed by Locust's request events.

Locust's own numbers do not fit an SLO check: it rounds response times to about two
significant figures (495 ms and 505 ms both read as 500 ms) and its percentile history
is cumulative since the start. The `Recorder` keeps, for every wall-clock second in which
a request *started* and every endpoint name, a count, the outcome counts and an
HdrHistogram of response times in microseconds; plus booking journey counters and the
booking ids that were acknowledged, journeys started per kind of fan, arrivals of the
open model that were dropped, and the number of running users. `stats.py` holds the line
format and reads it back.

Coordinated omission. A request whose event carries ``context[INTENDED_START]`` earlier
than its real start (the first request of an open-model journey that waited for a free
slot) is filed under the intended start and timed from it: a stalled service then shows
its stall in the latencies instead of hiding it by delaying the requests that measure it.

Seconds are written once they are complete: a request is filed under its start second
but reported when it ends, so a second is written only ``lag`` seconds after it ended. A
request that outlives the lag is written on a later line with the same key, and readers
add such lines up.

`hooks.attach` wires a recorder into a Locust process (in distributed mode the workers'
recorders drain into the master's with `merge`). This module imports neither Locust nor
gevent, so it is tested with fake events.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from harness.load.outcomes import Outcome, classify
from harness.load.stats import HIST_HIGHEST_US, new_histogram

logger = logging.getLogger(__name__)

DEFAULT_LAG = 2.0
"""How many seconds after a second has ended its lines are written."""

JOURNEY_EVENT = "booking_journey"
"""Name of the event the locustfile fires on ``environment.events`` for booking journeys."""

ATTEMPT = "attempt"
"""Journey stage: a journey that found seats tried to hold them and got an outcome."""
COMPLETED = "completed"
"""Journey stage: the purchase was acknowledged (with a ``booking_id``)."""
STARTED = "started"
"""Journey stage: a journey of ``user_kind`` started (at its intended start, if any)."""
DROPPED = "dropped"
"""Journey stage: an open-model arrival could not start at all."""

INTENDED_START = "intended_start"
"""Key in a request's Locust ``context``: when the request should have started (epoch s)."""

WORKER_DATA_KEY = "harness_load_lines"
"""Key of the recorder's lines in the data a Locust worker reports to the master."""

Line = dict[str, Any]

# The layout of `new_histogram()` (lowest value 1, 3 significant digits): 2048 slots of
# 1 us below 2048 us, then 1024 more slots per power of two, each twice as wide.
_LAYOUT = new_histogram()
if _LAYOUT.unit_magnitude != 0:
    raise RuntimeError("slot_of assumes histograms with a lowest trackable value of 1")
_HALF_BITS = int(_LAYOUT.sub_bucket_half_count_magnitude)
_HALF_COUNT = 1 << _HALF_BITS
_SUB_BUCKET_BITS = _HALF_BITS + 1
_SUB_BUCKET_MASK = (1 << _SUB_BUCKET_BITS) - 1
del _LAYOUT


def slot_of(micros: int) -> int:
    """The counts index HdrHistogram uses for ``micros`` (0 <= micros <= HIST_HIGHEST_US)."""
    shift = (micros | _SUB_BUCKET_MASK).bit_length() - _SUB_BUCKET_BITS
    return ((shift + 1) << _HALF_BITS) + (micros >> shift) - _HALF_COUNT


class _RequestBucket:
    """Requests to one endpoint that started in one second.

    Response times are counted by histogram slot in a dict and moved into a real
    HdrHistogram only when the second is drained: HdrHistogram.record_value costs about
    3 us of Python per call, computing the slot about 0.2 us (see `slot_of`).
    """

    __slots__ = ("count", "merged", "ok", "others", "slots")

    def __init__(self) -> None:
        self.count = 0
        self.ok = 0
        self.others: dict[str, int] = {}
        self.slots: dict[int, int] = {}
        self.merged: HdrHistogram | None = None  # from other recorders' lines

    def outcomes(self) -> dict[str, int]:
        counts = {Outcome.OK.value: self.ok} if self.ok else {}
        counts.update((name, n) for name, n in self.others.items() if n)
        return counts

    def histogram(self) -> HdrHistogram:
        histogram = new_histogram()
        for slot, n in self.slots.items():
            histogram.record_value(histogram.get_value_from_index(slot), n)
        if self.merged is not None:
            histogram.add(self.merged)
        return histogram


class _BookingBucket:
    """Booking journeys in one second."""

    __slots__ = ("attempts", "booking_ids", "completed")

    def __init__(self) -> None:
        self.attempts = 0
        self.completed = 0
        self.booking_ids: list[str] = []


class Recorder:
    """Buckets request events per (start second, endpoint) and drains completed seconds."""

    def __init__(self, lag: float = DEFAULT_LAG, clock: Callable[[], float] = time.time) -> None:
        self.lag = lag
        self._clock = clock
        self._requests: dict[tuple[int, str], _RequestBucket] = {}
        self._bookings: dict[int, _BookingBucket] = {}
        self._users: dict[int, int] = {}
        self._started: dict[int, dict[str, int]] = {}
        self._dropped: dict[int, int] = {}

    def on_request(
        self,
        name: str,
        response_time: float,
        start_time: float | None = None,
        response: Any = None,
        exception: BaseException | None = None,
        context: Mapping[str, Any] | None = None,
        **_: Any,
    ) -> None:
        """Listener for Locust's ``events.request``; runs once per request, so kept cheap."""
        if start_time is None:  # custom clients may omit it; derive it from the duration
            start_time = self._clock() - response_time / 1000.0
        if context:  # FastHttpUser passes an empty dict unless the journey set one
            intended = context.get(INTENDED_START)
            if intended is not None and intended < start_time:
                response_time += (start_time - intended) * 1000.0
                start_time = intended
        key = (int(start_time), name)
        bucket = self._requests.get(key)
        if bucket is None:
            bucket = self._requests[key] = _RequestBucket()
        bucket.count += 1
        status = getattr(response, "status_code", 0) or 0
        if exception is None and status < 400:
            bucket.ok += 1
        else:
            outcome = classify(status, exception).value
            bucket.others[outcome] = bucket.others.get(outcome, 0) + 1
        micros = int(response_time * 1000.0)
        if not 0 <= micros <= HIST_HIGHEST_US:
            micros = HIST_HIGHEST_US if micros > 0 else 0
        # slot_of(micros), inlined: a function call would double the cost of this line.
        shift = (micros | _SUB_BUCKET_MASK).bit_length() - _SUB_BUCKET_BITS
        slot = ((shift + 1) << _HALF_BITS) + (micros >> shift) - _HALF_COUNT
        bucket.slots[slot] = bucket.slots.get(slot, 0) + 1

    def on_journey(
        self,
        stage: str,
        start_time: float,
        booking_id: str | None = None,
        user_kind: str | None = None,
    ) -> None:
        """Listener for the journey event; ``stage`` is one of the journey stages above.

        For `ATTEMPT` and `COMPLETED`, ``start_time`` is the start of the journey's hold
        request, so an attempt and its completion land in the same second. For `STARTED`
        and `DROPPED` it is the journey's intended start (its real start in the closed
        model), so started and dropped arrivals add up to the schedule, second by second.
        """
        second = int(start_time)
        if stage == STARTED:
            counts = self._started.setdefault(second, {})
            kind = str(user_kind)
            counts[kind] = counts.get(kind, 0) + 1
        elif stage == DROPPED:
            self._dropped[second] = self._dropped.get(second, 0) + 1
        elif stage in (ATTEMPT, COMPLETED):
            self._on_booking(stage, second, booking_id)
        else:
            stages = [ATTEMPT, COMPLETED, STARTED, DROPPED]
            raise ValueError(f"journey stage {stage!r}: expected one of {stages}")

    def sample_users(self, when: float, users: int) -> None:
        """Note that ``users`` users were running at time ``when``."""
        self._users[int(when)] = users

    def _on_booking(self, stage: str, second: int, booking_id: str | None) -> None:
        bucket = self._booking_bucket(second)
        if stage == ATTEMPT:
            bucket.attempts += 1
            return
        bucket.completed += 1
        if booking_id is not None:
            bucket.booking_ids.append(str(booking_id))

    def drain(self, now: float | None = None) -> list[Line]:
        """Remove and return the lines of every second that ended ``lag`` seconds ago."""
        current = self._clock() if now is None else now
        # Second t ends at t + 1, and is due once t + 1 + lag <= now, i.e. t < now - lag.
        return self._drain_before(math.floor(current - self.lag))

    def drain_all(self) -> list[Line]:
        """Remove and return every line, complete or not (on quit)."""
        return self._drain_before(None)

    def merge(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Add lines drained by another recorder (a Locust worker's) into this one."""
        for line in lines:
            kind = line.get("kind")
            if kind == "request":
                self._merge_request(line)
            elif kind == "booking":
                bucket = self._booking_bucket(int(line["t"]))
                bucket.attempts += int(line["attempts"])
                bucket.completed += int(line["completed"])
                bucket.booking_ids.extend(str(i) for i in line["booking_ids"])
            elif kind == "journeys":
                counts = self._started.setdefault(int(line["t"]), {})
                for user_kind, n in line["started"].items():
                    counts[str(user_kind)] = counts.get(str(user_kind), 0) + int(n)
            elif kind == "dropped":
                second = int(line["t"])
                self._dropped[second] = self._dropped.get(second, 0) + int(line["count"])
            else:
                logger.warning("Ignoring a worker stats line of unknown kind %r", kind)

    def _booking_bucket(self, second: int) -> _BookingBucket:
        bucket = self._bookings.get(second)
        if bucket is None:
            bucket = self._bookings[second] = _BookingBucket()
        return bucket

    def _merge_request(self, line: Mapping[str, Any]) -> None:
        key = (int(line["t"]), str(line["endpoint"]))
        bucket = self._requests.get(key)
        if bucket is None:
            bucket = self._requests[key] = _RequestBucket()
        bucket.count += int(line["count"])
        for name, n in line["outcomes"].items():
            outcome = Outcome(name).value  # refuses names outside the closed set
            if outcome == Outcome.OK.value:
                bucket.ok += int(n)
            else:
                bucket.others[outcome] = bucket.others.get(outcome, 0) + int(n)
        histogram = HdrHistogram.decode(line["hist"])
        if bucket.merged is None:
            bucket.merged = histogram
        else:
            bucket.merged.add(histogram)

    def _drain_before(self, cutoff: int | None) -> list[Line]:
        def due(second: int) -> bool:
            return cutoff is None or second < cutoff

        lines: list[tuple[int, int, str, Line]] = []
        for key in [k for k in self._requests if due(k[0])]:
            lines.append((key[0], 0, key[1], _request_line(key, self._requests.pop(key))))
        for second in [s for s in self._bookings if due(s)]:
            lines.append((second, 1, "", _booking_line(second, self._bookings.pop(second))))
        for second in [s for s in self._users if due(s)]:
            line: Line = {"kind": "users", "t": second, "users": self._users.pop(second)}
            lines.append((second, 2, "", line))
        for second in [s for s in self._started if due(s)]:
            started = dict(sorted(self._started.pop(second).items()))
            lines.append((second, 3, "", {"kind": "journeys", "t": second, "started": started}))
        for second in [s for s in self._dropped if due(s)]:
            count = self._dropped.pop(second)
            lines.append((second, 4, "", {"kind": "dropped", "t": second, "count": count}))
        lines.sort(key=lambda item: item[:3])  # by second, kind, endpoint
        return [item[3] for item in lines]


def _request_line(key: tuple[int, str], bucket: _RequestBucket) -> Line:
    return {
        "kind": "request",
        "t": key[0],
        "endpoint": key[1],
        "count": bucket.count,
        "outcomes": bucket.outcomes(),
        "hist": bucket.histogram().encode().decode("ascii"),
    }


def _booking_line(second: int, bucket: _BookingBucket) -> Line:
    return {
        "kind": "booking",
        "t": second,
        "attempts": bucket.attempts,
        "completed": bucket.completed,
        "booking_ids": bucket.booking_ids,
    }


def append_lines(path: Path, lines: list[Line]) -> None:
    """Append ``lines`` to the JSON Lines file at ``path``, each on one compact line."""
    if not lines:
        return
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    with path.open("a", encoding="utf-8") as stream:
        stream.write(text)
