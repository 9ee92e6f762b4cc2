"""The concert release, as Locust users and a load shape: fans who browse, hold and buy.

Run by `runner.LoadRunner` as ``python -m locust -f <this file> --headless ...`` with the
path of a JSON `LoadConfig` in ``HARNESS_LOAD_CONFIG``. The journeys themselves are in
`harness.load.journeys`; this file decides when they run:

- closed model (config ``stages``): `ConcertFan` users, each of one kind of fan (handed
  out in spawn order to match ``mix``), running journeys one after another with a think
  time in between; `ReleaseShape` follows the stages;
- open model (config ``arrivals``): `ReleaseShape` starts ``max_concurrency``
  `ArrivalSlot` users at once and keeps them until the schedule ends; each slot runs the
  journeys an `ArrivalQueue` hands it (see `harness.load.arrivals`), each journey of the
  kind and with the intended start the schedule gave it.

Importing this module monkey-patches the process with gevent (Locust does on import):
never import it from the harness.
"""

# Locust's EventHook.fire and events' decorators carry no annotations; calling them is
# what a locustfile does.
# mypy: disable-error-code="no-untyped-call, untyped-decorator"

from __future__ import annotations

import itertools
import logging
import os
import random
import signal
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import LoadTestShape, User, events, task
from locust.env import Environment

from harness.load.arrivals import ArrivalQueue, Due, wire
from harness.load.config import CONFIG_ENV_VAR, LoadConfig, LoadConfigError
from harness.load.hooks import attach, journey_event
from harness.load.journeys import Fan
from harness.load.recorder import DROPPED
from harness.load.schedule import apportion

logger = logging.getLogger("harness.load.locustfile")


def _load_config() -> LoadConfig:
    path = os.environ.get(CONFIG_ENV_VAR)
    if not path:
        raise LoadConfigError(
            f"{CONFIG_ENV_VAR} is not set: it must hold the path of the JSON load config "
            "(harness.load.runner.LoadRunner sets it)"
        )
    return LoadConfig.load(Path(path))


CONFIG = _load_config()
_KINDS = apportion(CONFIG.mix)


class _ReleaseFan(Fan):
    """A fan of this run: its host and timeouts come from the config."""

    abstract = True
    config = CONFIG
    host = CONFIG.host
    # A stalled service must show up as a failed request, not as a user waiting forever.
    network_timeout = CONFIG.request_timeout
    connection_timeout = CONFIG.request_timeout


class ConcertFan(_ReleaseFan):
    """Closed model: one fan of one kind, running journeys one after another."""

    _numbers = itertools.count()

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        index = next(ConcertFan._numbers)
        if CONFIG.seed is not None:
            self.rng = random.Random(CONFIG.seed + _worker_offset(environment) + index)
        self.kind = next(_KINDS)

    @task
    def release(self) -> None:
        """One journey; Locust waits a think time and runs the next."""
        self.run_journey(self.kind)


class ArrivalSlot(_ReleaseFan):
    """Open model: a slot that runs the journeys of arrivals, one after another."""

    queue: ClassVar[ArrivalQueue | None] = None
    """Set when Locust initialises (the drop listener needs the environment)."""

    @task
    def serve(self) -> None:
        """Take the next arrival and run its journey, forever (the shape ends the test).

        The task never returns, so Locust never adds its own think time between two
        journeys: a free slot takes the next arrival at once.
        """
        queue = self.queue
        if queue is None:
            raise RuntimeError("ArrivalSlot runs only when the config has arrivals")
        while True:
            due = queue.take()
            if CONFIG.seed is not None:
                # Per arrival, not per slot: which slot serves an arrival depends on timing.
                self.rng = random.Random(f"{CONFIG.seed}/journey/{due.arrival.index}")
            self.run_journey(due.arrival.kind, due.at)


class ReleaseShape(LoadTestShape):
    """The stages or the arrival schedule of the config; stops after the last stage."""

    # With the default False, Locust ignores --run-time (with a warning) once a shape is
    # used; True hands it to us, and we use it as a hard stop.
    use_common_options = True

    def tick(self) -> tuple[int, float, list[type[User]]] | None:
        """(users, spawn rate, user classes) for now; None ends the test."""
        elapsed = self.get_run_time()
        run_time = _run_time_limit(self.runner.environment if self.runner else None)
        if run_time is not None and elapsed >= run_time:
            return None
        if CONFIG.arrivals is None:
            stage = CONFIG.stage_at(elapsed)
            return None if stage is None else (stage.users, stage.spawn_rate, [ConcertFan])
        if elapsed >= CONFIG.total_duration:
            return None
        # Every slot at once: the first arrivals must not wait for slots to be spawned.
        slots = CONFIG.arrivals.max_concurrency
        return slots, float(slots), [ArrivalSlot]


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    attach(environment, CONFIG.stats_path)
    if CONFIG.arrivals is not None:
        _serve_arrivals(environment)
    run_time = _run_time_limit(environment)
    worker = bool(getattr(environment.parsed_options, "worker", False))
    if run_time is not None and not worker:
        # gevent times spawn_later from its loop's cached clock, which stands still while
        # the locustfile is imported: on a busy machine that is seconds stale, and the
        # hard stop would fire that much too early.
        gevent.get_hub().loop.update_now()
        gevent.spawn_later(run_time, _hard_stop, environment, run_time)
    # Headless Locust installs its SIGTERM handler only after a shape test has ended; until
    # then SIGTERM would kill the process before the recorder writes its last seconds.
    gevent.signal_handler(signal.SIGTERM, _stop_on_sigterm, environment)


def _serve_arrivals(environment: Environment) -> None:
    drops = journey_event(environment)

    def on_drop(due: Due) -> None:
        drops.fire(stage=DROPPED, start_time=due.at)

    # An arrival no slot took within the request timeout would have timed out already.
    ArrivalSlot.queue = ArrivalQueue(CONFIG.request_timeout, on_drop)
    wire(environment, CONFIG, ArrivalSlot.queue)


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
