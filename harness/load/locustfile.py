"""The concert release, as Locust users: fans who browse, hold seats and buy them.

Run by `runner.LoadRunner` as ``python -m locust -f <this file> --headless ...`` with the
path of a JSON `LoadConfig` in ``HARNESS_LOAD_CONFIG``. One journey, with a think time
(``think_time``: uniform between min and max seconds) between the steps::

    browse        GET  /events                      pick an event (or config ``event_id``)
    availability  GET  /events/{id}/availability    pick a section with free seats
    hold          POST /events/{id}/holds           1-4 seats; 409 sold_out is expected
    purchase      POST /holds/{hold_id}/purchase    Idempotency-Key; one retry, same key
    booking       GET  /bookings/{booking_id}       read what was bought

The names on the left are the endpoint names in Locust's and the recorder's stats. A
journey that finds no free seat, or gets 409 sold_out on its hold, starts over.

Importing this module monkey-patches the process with gevent (Locust does on import):
never import it from the harness.
"""

# Locust's User.wait, EventHook.fire, response.failure and events' decorators carry no
# annotations; calling them is what a locustfile does.
# mypy: disable-error-code="no-untyped-call, untyped-decorator"

from __future__ import annotations

import itertools
import logging
import os
import random
import signal
import uuid
from pathlib import Path
from typing import Any

import gevent
from locust import LoadTestShape, events, task
from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager
from locust.env import Environment

from harness.load.config import CONFIG_ENV_VAR, LoadConfig, LoadConfigError
from harness.load.hooks import attach, journey_event
from harness.load.outcomes import Outcome, classify
from harness.load.recorder import ATTEMPT, COMPLETED

logger = logging.getLogger("harness.load.locustfile")

MAX_SEATS_PER_HOLD = 4
_RETRIED = frozenset({Outcome.TIMEOUT, Outcome.CONNECTION_ERROR})


def _load_config() -> LoadConfig:
    path = os.environ.get(CONFIG_ENV_VAR)
    if not path:
        raise LoadConfigError(
            f"{CONFIG_ENV_VAR} is not set: it must hold the path of the JSON load config "
            "(harness.load.runner.LoadRunner sets it)"
        )
    return LoadConfig.load(Path(path))


CONFIG = _load_config()


class ConcertFan(FastHttpUser):
    """A fan at a concert release: browse, check seats, hold, buy, read the booking."""

    host = CONFIG.host
    # A stalled service must show up as a failed request, not as a user waiting forever.
    network_timeout = CONFIG.request_timeout
    connection_timeout = CONFIG.request_timeout
    # geventhttpclient never retries POSTs itself; no retries for GETs either, so each
    # request event is one attempt on the wire.
    max_retries = 0

    _numbers = itertools.count()

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        index = next(ConcertFan._numbers)
        if CONFIG.seed is None:
            self.rng = random.Random()
        else:
            self.rng = random.Random(CONFIG.seed + _worker_offset(environment) + index)
        self._journey = journey_event(environment)

    def wait_time(self) -> float:
        """Think time before each step, drawn from this user's own seeded generator."""
        low, high = CONFIG.think_time
        return self.rng.uniform(low, high)

    @task
    def release(self) -> None:
        """One journey; returning early sends the fan back to browsing.

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
        with self.client.get("/events", name="browse", catch_response=True) as response:
            if response.status_code != 200:
                return None
            listed = _body(response).get("events")
            events_list = listed if isinstance(listed, list) else []
            ids = [e["id"] for e in events_list if isinstance(e, dict) and "id" in e]
            if not ids:
                response.failure("browse: no events in the answer")
                return None
        return CONFIG.event_id if CONFIG.event_id is not None else int(self.rng.choice(ids))

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


class ReleaseShape(LoadTestShape):
    """The stages of the config, one after another; stops after the last one."""

    # With the default False, Locust ignores --run-time (with a warning) once a shape is
    # used; True hands it to us, and we use it as a hard stop.
    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        """(users, spawn rate) of the current stage; None ends the test."""
        elapsed = self.get_run_time()
        run_time = _run_time_limit(self.runner.environment if self.runner else None)
        if run_time is not None and elapsed >= run_time:
            return None
        stage = CONFIG.stage_at(elapsed)
        return None if stage is None else (stage.users, stage.spawn_rate)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    attach(environment, CONFIG.stats_path)
    run_time = _run_time_limit(environment)
    worker = bool(getattr(environment.parsed_options, "worker", False))
    if run_time is not None and not worker:
        gevent.spawn_later(run_time, _hard_stop, environment, run_time)
    # Headless Locust installs its SIGTERM handler only after a shape test has ended; until
    # then SIGTERM would kill the process before the recorder writes its last seconds.
    gevent.signal_handler(signal.SIGTERM, _stop_on_sigterm, environment)


def _stop_on_sigterm(environment: Environment) -> None:
    logger.info("Got SIGTERM; stopping the test")
    if environment.runner is not None:
        environment.runner.quit()


def _hard_stop(environment: Environment, run_time: float) -> None:
    # The shape stops at the run time limit too, but only when it ticks, and a master
    # runner does not tick its shape while it ramps; so this greenlet enforces the limit
    # the way Locust's own --run-time does when no shape is used.
    logger.warning("Run time limit of %.0f s reached before the shape ended; stopping", run_time)
    if environment.runner is not None:
        environment.runner.quit()


def _run_time_limit(environment: Environment | None) -> float | None:
    options = environment.parsed_options if environment is not None else None
    run_time = getattr(options, "run_time", None)
    return float(run_time) if run_time else None


def _worker_offset(environment: Environment) -> int:
    # Users on different Locust workers must not share seeds.
    index = getattr(environment.runner, "worker_index", 0)
    return max(int(index), 0) * 1_000_000


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
