"""A small in-memory fake of the booking service's HTTP API, for the load tests.

It answers the five calls of the concert journey like the real service, in threads on
127.0.0.1, and can stall purchases to make the client time out, or answer everything
late (a stalled service). Stalled purchases are
committed *before* the stall, as a real service whose answer got lost would have done,
so a retry with the same Idempotency-Key must get the same booking back.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECTIONS = (("floor", 9500), ("balcony", 6500))


@dataclass
class _Hold:
    hold_id: int
    event_id: int
    section: str
    seat_ids: list[int]
    booking_id: int | None = None


@dataclass
class FakeBookingState:
    """The fake's data, guarded by one lock; tests read it after the run.

    ``stall_every``: every n-th new booking is answered after ``stall_seconds``;
    ``stale_free``: availability shows that many seats more than are free per section;
    ``delay_seconds``: every answer is sent that long after the request came in.
    """

    capacity: dict[str, int]
    stall_every: int = 0
    stall_seconds: float = 0.0
    stale_free: int = 0
    delay_seconds: float = 0.0
    free: dict[str, int] = field(default_factory=dict)
    holds: dict[int, _Hold] = field(default_factory=dict)
    bookings: dict[int, dict[str, Any]] = field(default_factory=dict)
    by_key: dict[str, int] = field(default_factory=dict)
    key_uses: Counter[str] = field(default_factory=Counter)
    stalled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.free = dict(self.capacity)

    def availability(self, event_id: int) -> dict[str, Any]:
        with self.lock:
            sections = [
                {
                    "section": name,
                    "price_cents": price,
                    "capacity": self.capacity[name],
                    # A cached availability page may show seats that are gone already.
                    "free": self.free[name] + self.stale_free,
                    "held": 0,
                    "sold": self.capacity[name] - self.free[name],
                }
                for name, price in SECTIONS
            ]
        return {
            "event_id": event_id,
            "free": sum(s["free"] for s in sections),
            "sections": sections,
        }

    def hold(self, event_id: int, section: str, quantity: int) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if section not in self.free or not 1 <= quantity <= 8:
                return 400, {"error": "invalid_request"}
            if self.free[section] < quantity:
                return 409, {"error": "sold_out"}
            self.free[section] -= quantity
            seats = [next(self.ids) for _ in range(quantity)]
            hold = _Hold(next(self.ids), event_id, section, seats)
            self.holds[hold.hold_id] = hold
        return 201, {"hold_id": hold.hold_id, "seat_ids": hold.seat_ids, "expires_in_s": 600}

    def purchase(self, hold_id: int, key: str) -> tuple[int, dict[str, Any], bool]:
        """(status, body, stall?) for a purchase; commits before any stall."""
        with self.lock:
            self.key_uses[key] += 1
            if key in self.by_key:
                return 200, self.bookings[self.by_key[key]], False
            hold = self.holds.get(hold_id)
            if hold is None:
                return 404, {"error": "hold_not_found"}, False
            if hold.booking_id is not None:
                return 409, {"error": "hold_already_purchased"}, False
            booking_id = next(self.ids)
            hold.booking_id = booking_id
            body = {"booking_id": booking_id, "status": "confirmed", "seat_ids": hold.seat_ids}
            self.bookings[booking_id] = body
            self.by_key[key] = booking_id
            stall = self.stall_every > 0 and len(self.by_key) % self.stall_every == 0
            self.stalled += stall
        return 201, body, stall


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as FastHttpUser expects
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/events":
            return self._send(200, {"events": [{"id": 1, "name": "Release", "capacity": 16000}]})
        if m := re.fullmatch(r"/events/(\d+)/availability", self.path):
            return self._send(200, state.availability(int(m[1])))
        if m := re.fullmatch(r"/bookings/(\d+)", self.path):
            with state.lock:
                booking = state.bookings.get(int(m[1]))
            return self._send(200, booking) if booking else self._send(404, {"error": "not_found"})
        return self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if m := re.fullmatch(r"/events/(\d+)/holds", self.path):
            status, answer = state.hold(int(m[1]), body.get("section"), body.get("quantity", 0))
            return self._send(status, answer)
        if m := re.fullmatch(r"/holds/(\d+)/purchase", self.path):
            key = self.headers.get("Idempotency-Key") or ""
            status, answer, stall = state.purchase(int(m[1]), key)
            if stall:
                time.sleep(state.stall_seconds)
            return self._send(status, answer)
        return self._send(404, {"error": "not_found"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        if self.server.state.delay_seconds:
            time.sleep(self.server.state.delay_seconds)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (timeout) and closed


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakeBookingState


class FakeBookingService:
    """The fake on a free port of 127.0.0.1, served from a background thread."""

    def __init__(self, state: FakeBookingState) -> None:
        self.state = state
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = state
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the fake."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeBookingService:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
