"""Reading load-stats.jsonl while the recorder is still writing it, cheaply.

`StatsTail.poll` reads only the bytes appended since the last poll, keeps a last line
that has no newline yet for the next poll (the recorder may be writing it), and holds
only the most recent ``keep_seconds`` seconds in memory. Lines for a second that come
late (a slow request, a late Locust worker) are added to that second, as `load_stats`
does. `window` sums the last few complete seconds into the grader's `WindowCounts`, so
an SLI is computed live exactly as it is graded at the end.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

from harness.grading.slis import WindowCounts
from harness.load.stats import LoadStats, StatsFormatError, new_histogram, parse_lines
from harness.report.series import percentiles_ms

log = logging.getLogger(__name__)


@dataclass
class _Second:
    """Requests to one endpoint in one second, merged over every line for it."""

    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    histogram: HdrHistogram = field(default_factory=new_histogram)


class StatsTail:
    """An incremental reader of a growing stats file."""

    def __init__(self, path: Path, keep_seconds: int = 120) -> None:
        self.path = path
        self.keep_seconds = keep_seconds
        self._offset = 0
        self._partial = b""
        self._requests: dict[tuple[int, str], _Second] = {}
        self._bookings: dict[int, tuple[int, int]] = {}
        self._users: dict[int, int] = {}
        self.latest: int | None = None
        """The newest second any request line was seen for."""
        self.earliest: int | None = None
        """The oldest second any request line was seen for (kept after it is forgotten)."""

    def poll(self) -> int:
        """Read what was appended since the last call; the number of new lines."""
        try:
            with self.path.open("rb") as stream:
                stream.seek(0, 2)
                if stream.tell() < self._offset:  # the file was replaced: start over
                    self._offset, self._partial = 0, b""
                stream.seek(self._offset)
                data = stream.read()
        except FileNotFoundError:
            return 0
        self._offset += len(data)
        *complete, self._partial = (self._partial + data).split(b"\n")
        rows = []
        for raw in complete:
            if raw.strip():
                try:
                    rows.append(json.loads(raw))
                except ValueError:
                    log.warning("%s: a line that is not JSON was skipped", self.path)
        self._absorb(rows)
        return len(rows)

    def _absorb(self, rows: list[dict[str, object]]) -> None:
        for row in rows:
            try:
                self._add(parse_lines([row]))
            except (StatsFormatError, ValueError, KeyError, TypeError) as exc:
                # One odd line (a kind added later) must not blind the live view.
                log.debug("%s: a line skipped in the live view: %s", self.path, exc)
        self._forget_old()

    def _add(self, batch: LoadStats) -> None:
        for r in batch.requests:
            second = self._requests.setdefault((r.t, r.endpoint), _Second())
            second.count += r.count
            second.outcomes.update({o.value: n for o, n in r.outcomes.items()})
            second.histogram.add(r.histogram)
            self.latest = r.t if self.latest is None else max(self.latest, r.t)
            self.earliest = r.t if self.earliest is None else min(self.earliest, r.t)
        for b in batch.bookings:
            attempts, completed = self._bookings.get(b.t, (0, 0))
            self._bookings[b.t] = (attempts + b.attempts, completed + b.completed)
        for u in batch.users:
            self._users[u.t] = max(u.users, self._users.get(u.t, 0))

    def _forget_old(self) -> None:
        if self.latest is None:
            return
        horizon = self.latest - self.keep_seconds
        self._requests = {k: v for k, v in self._requests.items() if k[0] > horizon}
        self._bookings = {t: v for t, v in self._bookings.items() if t > horizon}
        self._users = {t: v for t, v in self._users.items() if t > horizon}

    def users(self, until: int | None = None) -> int | None:
        """The user count of the newest second that has one (up to ``until``)."""
        seconds = [t for t in self._users if until is None or t <= until]
        return self._users[max(seconds)] if seconds else None

    def window(
        self, seconds: int, endpoint: str | None = None, until: int | None = None
    ) -> WindowCounts:
        """The last ``seconds`` seconds up to the newest one seen (or ``until``), as graded."""
        last = self.latest if until is None or self.latest is None else min(self.latest, until)
        if last is None or self.earliest is None or last < self.earliest:
            return WindowCounts(float(seconds), 0, {}, 0, 0, lambda _p: None)
        first = last - seconds + 1
        # Early in a run fewer seconds exist than asked for; rates use the ones that do.
        covered = min(seconds, last - self.earliest + 1)
        histogram, outcomes, count = new_histogram(), Counter[str](), 0
        for (t, name), second in self._requests.items():
            if first <= t <= last and endpoint in (None, name):
                count += second.count
                outcomes.update(second.outcomes)
                histogram.add(second.histogram)
        booked = [v for t, v in self._bookings.items() if first <= t <= last]

        def latency(p: float) -> float | None:
            return percentiles_ms(histogram, (p,))[0] if count else None

        return WindowCounts(
            seconds=float(covered),
            requests=count,
            outcomes=dict(outcomes),
            booking_attempts=sum(a for a, _ in booked),
            bookings_completed=sum(c for _, c in booked),
            latency_ms=latency,
        )
