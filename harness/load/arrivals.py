"""The open model inside Locust: arrivals on a schedule, served by a pool of users.

A feeder greenlet puts each arrival of the `ArrivalSchedule` into a queue at its intended
start, whatever the service is doing; ``max_concurrency`` Locust users (the slots) take
arrivals from the queue and run one journey each, then take the next. A slow service
keeps slots busy, so arrivals wait in the queue, but the feeder never waits for them::

    feeder --(intended start)--> queue --> slot 1 .. slot max_concurrency --> service
                                   |
                                   +--> dropped: no slot within request_timeout

An arrival taken late is handed over with its intended start, and the journey times its
first request from that moment (coordinated-omission correction, see the recorder). One
that no slot took within ``patience`` seconds (the config's request_timeout: its first
request would have timed out by then) is dropped and reported through ``on_drop``, and
so is every arrival still waiting when the load stops.

Distributed mode: the master tells every worker, with a Locust custom message, the start
time, the seed and its share (worker i of n takes the arrivals whose number is i modulo
n); Locust gives each worker its share of the slots. Clocks of different machines must
agree for the intended starts to mean the same moment.

Imports gevent and Locust: only the locustfile imports this module.
"""

# Locust's runner and event methods carry no annotations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.queue import Queue
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.load.config import Arrivals, LoadConfig, Mix
from harness.load.schedule import Arrival, ArrivalSchedule

logger = logging.getLogger(__name__)

SHARE_MESSAGE = "harness_arrivals"
"""Locust custom message from the master: ``{"t0", "seed", "index", "count"}``."""

SWEEP_INTERVAL = 0.25
"""Seconds between looks for arrivals that waited too long, when no arrival is due."""


@dataclass(frozen=True)
class Due:
    """An arrival with its intended start as a wall-clock time (seconds since the epoch)."""

    at: float
    arrival: Arrival


class ArrivalQueue:
    """Arrivals waiting for a free slot; dropped once they waited ``patience`` seconds."""

    def __init__(
        self,
        patience: float,
        on_drop: Callable[[Due], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.patience = patience
        self._on_drop = on_drop
        self._clock = clock
        self._queue: Queue[Due] = Queue()
        self._feeder: gevent.Greenlet | None = None
        self.fed = 0
        self.taken = 0
        self.dropped = 0

    def start(self, arrivals: Iterable[Arrival], t0: float) -> None:
        """Feed ``arrivals`` at ``t0`` + their offsets, from a greenlet of its own."""
        self.stop()
        self._feeder = gevent.spawn(self._feed, arrivals, t0)

    def take(self) -> Due:
        """The oldest arrival still worth starting; blocks until there is one."""
        while True:
            due: Due = self._queue.get()
            if self._clock() - due.at <= self.patience:
                self.taken += 1
                return due
            self._drop(due)

    def stop(self) -> int:
        """Stop feeding; drop the arrivals still waiting. Returns how many were dropped."""
        if self._feeder is not None:
            self._feeder.kill(block=True)
            self._feeder = None
        left = 0
        while not self._queue.empty():
            self._drop(self._queue.get_nowait())
            left += 1
        return left

    def _feed(self, arrivals: Iterable[Arrival], t0: float) -> None:
        for arrival in arrivals:
            due = Due(t0 + arrival.offset, arrival)
            self._wait_until(due.at)
            self._sweep()
            self._queue.put(due)
            self.fed += 1
        logger.info("All %d arrivals of this process were fed", self.fed)
        while True:  # arrivals still queued may yet wait too long; until `stop`
            gevent.sleep(SWEEP_INTERVAL)
            self._sweep()

    def _wait_until(self, moment: float) -> None:
        # Late (a busy process): no sleep at all, the arrival goes out at once with its
        # intended start. Long gaps (low rates) are slept in pieces to sweep meanwhile.
        while (remaining := moment - self._clock()) > 0:
            gevent.sleep(min(remaining, SWEEP_INTERVAL))
            if remaining > SWEEP_INTERVAL:
                self._sweep()

    def _sweep(self) -> None:
        # Arrivals are queued in order of intended start: the oldest is always first.
        # peek and get_nowait run without a switch in between, so no slot can interleave.
        limit = self._clock() - self.patience
        while not self._queue.empty() and self._queue.peek_nowait().at < limit:
            self._drop(self._queue.get_nowait())

    def _drop(self, due: Due) -> None:
        self.dropped += 1
        self._on_drop(due)


def share(arrivals: Iterable[Arrival], index: int, count: int) -> Iterator[Arrival]:
    """The arrivals worker ``index`` of ``count`` serves: every count-th from the index-th."""
    return (arrival for arrival in arrivals if arrival.index % count == index)


def wire(environment: Environment, config: LoadConfig, queue: ArrivalQueue) -> None:
    """Start the queue's feeding with the test and stop it with the test (call at init)."""
    if config.arrivals is None:
        raise ValueError("wire: the config has no arrivals (it is a closed-model config)")
    feed = _Feeder(config.arrivals, config.mix, queue)
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(SHARE_MESSAGE, feed.on_share)
    elif isinstance(runner, MasterRunner):
        environment.events.test_start.add_listener(_send_shares(runner, config.seed))
        return  # the master runs no users: nothing to feed or stop
    else:

        def start_local(**_: Any) -> None:
            feed.start(time.time(), config.seed, 0, 1)

        environment.events.test_start.add_listener(start_local)

    def stop(**_: Any) -> None:
        left = queue.stop()
        logger.info(
            "Arrivals: %d fed, %d started, %d dropped (%d still waiting at the end)",
            queue.fed,
            queue.taken,
            queue.dropped,
            left,
        )

    environment.events.test_stop.add_listener(stop)


@dataclass(frozen=True)
class _Feeder:
    """Starts one process's share of the schedule on its queue."""

    arrivals: Arrivals
    mix: Mix
    queue: ArrivalQueue

    def start(self, t0: float, seed: int | None, index: int, count: int) -> None:
        schedule = ArrivalSchedule(self.arrivals, self.mix, seed)
        logger.info(
            "Feeding arrivals (share %d of %d): %.0f journeys expected over %.0f s in all",
            index + 1,
            count,
            schedule.total,
            schedule.duration,
        )
        self.queue.start(share(schedule, index, count), t0)

    def on_share(self, msg: Any, **_: Any) -> None:
        """Listener for `SHARE_MESSAGE` on a worker."""
        data = msg.data
        self.start(data["t0"], data["seed"], data["index"], data["count"])


def _send_shares(runner: MasterRunner, seed: int | None) -> Callable[..., None]:
    def send(**_: Any) -> None:
        # The master fires test_start before it sends any spawn message, and a worker reads
        # its messages in order: each worker knows its share before its first slot exists.
        clients = runner.clients
        workers = sorted(w.id for w in clients.ready + clients.running + clients.spawning)
        # Without a seed, the workers still need the same Poisson draws to share them out.
        shared_seed = seed if seed is not None else random.randrange(2**31)
        t0 = time.time()
        for index, worker in enumerate(workers):
            data = {"t0": t0, "seed": shared_seed, "index": index, "count": len(workers)}
            runner.send_message(SHARE_MESSAGE, data, client_id=worker)
        logger.info("Sent arrival shares to %d worker(s)", len(workers))

    return send
