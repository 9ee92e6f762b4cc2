"""What a fan does at a concert release: the journeys of each kind, as Locust requests.

A buyer (`UserKind.BUYER`) runs the whole journey; a browser (`UserKind.BROWSER`) looks
and leaves. A think time (``think_time``: uniform between min and max seconds) separates
the steps::

    browse        GET  /events                      pick an event (or config ``event_id``)
    availability  GET  /events/{id}/availability    pick a section with free seats
    hold          POST /events/{id}/holds           1-4 seats; 409 sold_out is expected
    purchase      POST /holds/{hold_id}/purchase    Idempotency-Key; one retry, same key
    booking       GET  /bookings/{booking_id}       read what was bought

A browser stops after availability, and half the time checks availability once more
first (fans refresh the seat map). The names on the left are the endpoint names in
Locust's and the recorder's stats. A buyer's journey that finds no free seat, or gets 409
sold_out on its hold, ends there.

`Fan` is abstract: the locustfile's users say when journeys run (closed or open model).
Importing this module imports Locust, which monkey-patches the process with gevent:
only the locustfile imports it.
"""

# Locust's User.wait, EventHook.fire, response.failure carry no annotations; calling them
# is what a locustfile does.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import random
import time
import uuid
from typing import Any, ClassVar

from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager
from locust.env import Environment

from harness.load.config import LoadConfig, UserKind
from harness.load.hooks import journey_event
from harness.load.outcomes import Outcome, classify
from harness.load.recorder import ATTEMPT, COMPLETED, INTENDED_START, STARTED

MAX_SEATS_PER_HOLD = 4
RECHECK_SHARE = 0.5
"""How often a browser checks availability a second time."""

_RETRIED = frozenset({Outcome.TIMEOUT, Outcome.CONNECTION_ERROR})


class Fan(FastHttpUser):
    """A fan at a concert release; subclasses set ``config`` and the host and timeouts."""

    abstract = True
    config: ClassVar[LoadConfig]
    # geventhttpclient never retries POSTs itself; no retries for GETs either, so each
    # request event is one attempt on the wire.
    max_retries = 0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.rng = random.Random()
        self._journey = journey_event(environment)
        self._intended_start: float | None = None

    def wait_time(self) -> float:
        """Think time before each step, drawn from this fan's own generator."""
        low, high = self.config.think_time
        return self.rng.uniform(low, high)

    def run_journey(self, kind: UserKind, intended_start: float | None = None) -> None:
        """One journey of a ``kind`` fan.

        ``intended_start`` (the open model's schedule) dates the journey and times its
        first request: a journey that had to wait for a free slot cannot hide the wait.
        """
        started = time.time() if intended_start is None else intended_start
        self._journey.fire(stage=STARTED, start_time=started, user_kind=kind.value)
        self._intended_start = intended_start
        if kind is UserKind.BROWSER:
            self.look_around()
        else:
            self.buy()

    def look_around(self) -> None:
        """A browser: see the events and the free seats, maybe twice, and leave."""
        event_id = self.browse()
        if event_id is None:
            return
        self.wait()
        if self.check_availability(event_id) is None:
            return
        if self.rng.random() < RECHECK_SHARE:
            self.wait()
            self.check_availability(event_id)

    def buy(self) -> None:
        """A buyer: browse, hold seats, buy them and read the booking.

        A booking attempt is a journey that found seats and tried to hold them; it is
        recorded once its outcome is known, under the second its hold started, so that
        attempts and completions fall in the same window. A journey cut short by the end
        of the load (between hold and purchase) has no outcome and is not recorded.
        """
        event_id = self.browse()
        if event_id is None:
            return
        self.wait()
        choice = self.check_availability(event_id)
        if choice is None:
            return
        self.wait()
        held = self.hold(event_id, *choice)
        if held is None:
            return
        hold_id, hold_started = held
        booking_id = None
        if hold_id is not None:
            self.wait()
            booking_id = self.purchase(hold_id)
        self._journey.fire(stage=ATTEMPT, start_time=hold_started)
        if booking_id is None:
            return
        self._journey.fire(stage=COMPLETED, start_time=hold_started, booking_id=booking_id)
        self.wait()
        self.client.get(f"/bookings/{booking_id}", name="booking")

    def browse(self) -> int | None:
        """The event to buy for: the configured one, or one picked from the list."""
        # The journey's first request carries its intended start for the recorder.
        context = {} if self._intended_start is None else {INTENDED_START: self._intended_start}
        self._intended_start = None
        with self.client.get(
            "/events", name="browse", catch_response=True, context=context
        ) as response:
            if response.status_code != 200:
                return None
            listed = _body(response).get("events")
            events_list = listed if isinstance(listed, list) else []
            ids = [e["id"] for e in events_list if isinstance(e, dict) and "id" in e]
            if not ids:
                response.failure("browse: no events in the answer")
                return None
        event_id = self.config.event_id
        return event_id if event_id is not None else int(self.rng.choice(ids))

    def check_availability(self, event_id: int) -> tuple[str, int] | None:
        """A (section, quantity) with free seats, or None when the event is sold out."""
        url = f"/events/{event_id}/availability"
        with self.client.get(url, name="availability", catch_response=True) as response:
            if response.status_code != 200:
                return None
            sections = _body(response).get("sections")
            if not isinstance(sections, list):
                response.failure("availability: no sections in the answer")
                return None
        free = {
            str(s["section"]): s["free"]
            for s in sections
            if isinstance(s, dict) and "section" in s and isinstance(s.get("free"), int)
        }
        names = sorted(name for name, seats in free.items() if seats > 0)
        if not names:
            return None
        section = self.rng.choice(names)
        # A ticket page offers no more seats than it shows as free.
        return section, min(self.rng.randint(1, MAX_SEATS_PER_HOLD), free[section])

    def hold(self, event_id: int, section: str, quantity: int) -> tuple[str | None, float] | None:
        """Hold seats: (hold id or None on an error, start time of the request).

        None when the seats went in the meantime (409 sold_out): the fan found no seats,
        so there was no booking attempt.
        """
        payload = {"section": section, "quantity": quantity}
        url = f"/events/{event_id}/holds"
        with self.client.post(url, json=payload, name="hold", catch_response=True) as response:
            started = float(response.request_meta["start_time"])
            if response.status_code == 409 and _body(response).get("error") == "sold_out":
                response.success()  # losing a race for the last seats is a normal answer
                return None
            if response.status_code != 201:
                return None, started
            hold_id = _body(response).get("hold_id")
            if hold_id is None:
                response.failure("hold: no hold_id in the answer")
        return (None if hold_id is None else str(hold_id)), started

    def purchase(self, hold_id: str) -> str | None:
        """Buy the hold; the booking id when the service acknowledged it with a 2xx.

        A real client that gets no answer (timeout, connection reset) cannot know whether
        the purchase went through, so it asks again once, with the same Idempotency-Key:
        the service must then answer with the booking it made, not a second one.
        """
        # Not drawn from the seeded generator: a rerun with the same seed against the same
        # database must not replay the bookings of the first run.
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        url = f"/holds/{hold_id}/purchase"
        for attempt in (1, 2):
            with self.client.post(
                url, headers=headers, name="purchase", catch_response=True
            ) as response:
                if 200 <= response.status_code < 300:
                    return self._acknowledged(response)
                retry = attempt == 1 and _failure(response) in _RETRIED
            if not retry:
                return None
        return None

    def _acknowledged(self, response: ResponseContextManager) -> str | None:
        booking_id = _body(response).get("booking_id")
        if booking_id is None:
            response.failure("purchase: no booking_id in the answer")
            return None
        return str(booking_id)


def _body(response: ResponseContextManager) -> dict[str, Any]:
    """The JSON object in the answer, or {} when there is none or it is not an object."""
    try:
        body = response.json()
    except (ValueError, TypeError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def _failure(response: ResponseContextManager) -> Outcome:
    # Inside the with-block the error is on the response (no answer) or already in the
    # request's metadata (the body could not be read).
    error = response.request_meta.get("exception") or getattr(response, "error", None)
    return classify(response.status_code, error if isinstance(error, BaseException) else None)
