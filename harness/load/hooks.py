"""Wires a `Recorder` into a running Locust process: request events in, JSON Lines out.

Only the Locust process imports this module (through the locustfile): importing Locust
monkey-patches the process with gevent.

Who does what depends on the process's role:

- local (one process): records requests, samples the user count each second, writes;
- worker: records requests and sends its completed seconds with every report to the
  master (``report_to_master``, every 3 s), and everything that is left on stop;
- master: merges the workers' seconds (``worker_report``), samples the user count and
  writes. It waits one report interval longer before writing a second, so most workers'
  lines for it have arrived; later ones are written as extra lines that readers add up.

The end of a distributed test. Locust's master gives its workers' final reports only
half a second after telling them to quit, which a busy machine overruns: the last
seconds of the test would be lost. So when the test stops, the master asks every worker
to flush (`FLUSH_MESSAGE`): the worker stops its users and sends every line it holds
(`LINES_MESSAGE`), and the master waits for them all (at most `FLUSH_TIMEOUT` seconds)
before Locust tells the workers to quit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.event import EventHook
from locust.runners import WORKER_REPORT_INTERVAL, MasterRunner, WorkerRunner

from harness.load.recorder import (
    DEFAULT_LAG,
    JOURNEY_EVENT,
    WORKER_DATA_KEY,
    Recorder,
    append_lines,
)

logger = logging.getLogger(__name__)

FLUSH_MESSAGE = "harness_flush"
"""Locust custom message, master to worker: stop the users and send every line you hold."""

LINES_MESSAGE = "harness_lines"
"""Locust custom message, worker to master: ``{"lines": [...]}``, the worker's last lines."""

FLUSH_TIMEOUT = 10.0
"""Seconds the master waits for the workers' last lines when the test stops."""


def attach(environment: Environment, stats_path: Path, lag: float = DEFAULT_LAG) -> Recorder:
    """Hook a new recorder on ``environment`` (call it from ``events.init``).

    Also creates ``environment.events.booking_journey`` if it does not exist yet, the event
    the locustfile fires with ``stage``, ``start_time`` and ``booking_id``.
    """
    binding = _Binding(environment, stats_path, lag)
    binding.install()
    logger.info("Recording per-second load stats to %s as %s", stats_path, binding.role)
    return binding.recorder


def journey_event(environment: Environment) -> EventHook:
    """The booking journey event of ``environment``, created on first use."""
    hook = getattr(environment.events, JOURNEY_EVENT, None)
    if not isinstance(hook, EventHook):
        hook = EventHook()  # type: ignore[no-untyped-call]  # Locust leaves it unannotated
        setattr(environment.events, JOURNEY_EVENT, hook)
    return hook


class _Binding:
    """The listeners and the once-a-second greenlet of one recorder."""

    def __init__(self, environment: Environment, stats_path: Path, lag: float) -> None:
        self.environment = environment
        self.stats_path = stats_path
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            self.role = "master"
            lag += WORKER_REPORT_INTERVAL + 1.0
        elif isinstance(runner, WorkerRunner):
            self.role = "worker"
        else:
            self.role = "local"
        self.recorder = Recorder(lag=lag)
        self._stopped = False
        self._ticker: gevent.Greenlet | None = None
        self._flushing: set[str] = set()

    def install(self) -> None:
        events = self.environment.events
        if self.role != "master":
            _listen(events.request, self.recorder.on_request)
            _listen(journey_event(self.environment), self.recorder.on_journey)
        if self.role == "worker":
            _listen(events.report_to_master, self._report)
            _listen(events.test_start, self._on_test_start)
            _listen(events.test_stop, self._on_test_stop)
            _register(self.environment.runner, FLUSH_MESSAGE, self._flush_to_master)
            return
        # The harness times its fault timeline from this mark, not from process start:
        # importing Locust and spawning the first users takes a second or two.
        _listen(events.test_start, self._mark_start)
        if self.role == "master":
            _listen(events.worker_report, self._on_worker_report)
            _listen(events.test_stop, self._collect_from_workers)
            _register(self.environment.runner, LINES_MESSAGE, self._on_worker_lines)
        # `quit` fires after Locust has stopped every user: nothing can be recorded later.
        _listen(events.quit, self._on_quit)
        self._ticker = gevent.spawn(self._tick_forever)

    def _mark_start(self, **_: Any) -> None:
        append_lines(self.stats_path, [{"kind": "start", "t": time.time()}])

    def _on_test_start(self, **_: Any) -> None:
        self._stopped = False

    def _on_test_stop(self, **_: Any) -> None:
        self._stopped = True

    def _report(self, data: dict[str, Any], **_: Any) -> None:
        # After test_stop no request can start any more: send every second, complete or not.
        lines = self.recorder.drain_all() if self._stopped else self.recorder.drain()
        data[WORKER_DATA_KEY] = lines

    def _on_worker_report(self, data: dict[str, Any], **_: Any) -> None:
        self.recorder.merge(data.get(WORKER_DATA_KEY, ()))

    def _flush_to_master(self, msg: Any, **_: Any) -> None:
        # Runner.stop kills the users and fires test_stop (which ends the arrivals, too);
        # unlike Locust's own "stop" message it does not take the worker off the master's
        # list, so the master's "quit" still reaches it afterwards.
        runner = self.environment.runner
        if runner is not None:
            runner.stop()
        _send(runner, LINES_MESSAGE, {"lines": self.recorder.drain_all()})

    def _collect_from_workers(self, **_: Any) -> None:
        runner = self.environment.runner
        if not isinstance(runner, MasterRunner):
            return
        self._flushing = {client.id for client in runner.clients.all}
        for client_id in sorted(self._flushing):
            runner.send_message(FLUSH_MESSAGE, None, client_id=client_id)
        # Blocking this listener holds Locust's quit until the lines are in; the master's
        # message loop runs in its own greenlet meanwhile.
        deadline = time.monotonic() + FLUSH_TIMEOUT
        while self._flushing and time.monotonic() < deadline:
            gevent.sleep(0.05)
        if self._flushing:
            logger.warning(
                "%d worker(s) sent no last stats within %.0f s; their last seconds are missing",
                len(self._flushing),
                FLUSH_TIMEOUT,
            )

    def _on_worker_lines(self, msg: Any, **_: Any) -> None:
        self.recorder.merge(msg.data.get("lines", ()))
        self._flushing.discard(msg.node_id)

    def _tick_forever(self) -> None:
        while True:
            # Wake in the middle of each second, far from the boundary, so each second
            # gets exactly one user count sample.
            gevent.sleep(_until_mid_second(time.time()))
            try:
                self._tick()
            except Exception:
                logger.exception("Writing stats to %s failed; next try in 1 s", self.stats_path)

    def _tick(self) -> None:
        now = time.time()
        runner = self.environment.runner
        if runner is not None:
            self.recorder.sample_users(now, runner.user_count)
        append_lines(self.stats_path, self.recorder.drain(now))

    def _on_quit(self, **_: Any) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)
        try:
            append_lines(self.stats_path, self.recorder.drain_all())
        except OSError:
            logger.exception("Writing the last load stats to %s failed", self.stats_path)


def _listen(hook: Any, listener: Callable[..., None]) -> None:
    # Any: Locust's EventHook methods are unannotated, which mypy --strict rejects.
    hook.add_listener(listener)


def _register(runner: Any, message: str, listener: Callable[..., None]) -> None:
    runner.register_message(message, listener)


def _send(runner: Any, message: str, data: dict[str, Any]) -> None:
    # A worker's send_message goes to its master.
    runner.send_message(message, data)


def _until_mid_second(now: float) -> float:
    fraction = now % 1.0
    return 0.5 - fraction if fraction < 0.5 else 1.5 - fraction
