"""A circuit breaker for the database: fail fast while it is down, probe it with one trial.

::

             N consecutive failures                 reset timeout elapsed
    CLOSED ---------------------------> OPEN ----------------------------> HALF_OPEN
      ^                                  ^                                   |  |
      |                                  +------- the trial fails -----------+  |
      +------------------------------ the trial succeeds ----------------------+

While OPEN every call is refused at once with ``CircuitOpen``, so a sick database is
not queued against by every request. HALF_OPEN lets exactly one call through as the
trial; the others are refused until it ends. Only the trial's outcome moves the
breaker out of HALF_OPEN; outcomes of calls admitted before the breaker opened are
ignored, so a burst of late failures cannot extend an open period.

Written here rather than taken from a library: purgatory 3.0 and circuitbreaker 2.1
(the maintained asyncio-capable ones) let every call through once half-open, which
sends a whole queue of requests at a database that may still be down; pybreaker's
async support needs Tornado and aiobreaker has had no release since 2021.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

logger = logging.getLogger(__name__)


class BreakerState(enum.IntEnum):
    """The breaker's state; the value is what the ``booking_db_breaker_state`` gauge shows."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitOpen(Exception):
    """A call refused without being attempted; ``retry_after`` is in whole seconds (>= 1)."""

    def __init__(self, state: BreakerState, retry_after: int) -> None:
        super().__init__(f"circuit breaker {state.name.lower().replace('_', '-')}")
        self.state = state
        self.retry_after = retry_after


Listener = Callable[[BreakerState, BreakerState], None]


@dataclass
class _Ticket:
    """One admitted call; ``trial`` marks the single call let through while half-open."""

    trial: bool
    done: bool = False


class CircuitBreaker:
    """Counts consecutive failures of guarded calls and refuses calls while open.

    ``is_failure`` decides which exceptions count against the guarded resource; any
    other exception means the resource answered, and counts as a success. A call
    that ends with a ``BaseException`` (cancellation) gives no verdict.
    """

    def __init__(
        self,
        failure_threshold: int,
        reset_timeout: float,
        is_failure: Callable[[BaseException], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: Listener | None = None,
    ) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._is_failure = is_failure
        self._clock = clock
        self._listener = listener
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        """The state now; an open breaker whose reset timeout has passed reads half-open."""
        self._advance()
        return self._state

    def guard(self) -> _Guard:
        """``with breaker.guard():`` around one call; raises ``CircuitOpen`` when refused."""
        return _Guard(self)

    def admit(self) -> _Ticket:
        """Let one call through or raise ``CircuitOpen``; report its end with ``finish``."""
        self._advance()
        if self._state is BreakerState.CLOSED:
            return _Ticket(trial=False)
        if self._state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            logger.info("circuit breaker half-open: letting one trial call through")
            return _Ticket(trial=True)
        raise CircuitOpen(self._state, self._retry_after())

    def finish(self, ticket: _Ticket, error: BaseException | None) -> None:
        """Record how an admitted call ended: ``None`` for success, else its exception."""
        if ticket.done:
            return
        ticket.done = True
        if error is not None and not isinstance(error, Exception):
            if ticket.trial:  # cancelled: no verdict, the next call may be the trial
                self._trial_running = False
            return
        failed = error is not None and self._is_failure(error)
        if ticket.trial:
            self._trial_running = False
            self._end_trial(failed)
        elif self._state is BreakerState.CLOSED:
            self._count(failed)

    def _count(self, failed: bool) -> None:
        if not failed:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            logger.warning(
                "circuit breaker open after %d consecutive failures; failing fast for %.1f s",
                self._failures,
                self.reset_timeout,
            )
            self._open()

    def _end_trial(self, failed: bool) -> None:
        if failed:
            logger.warning(
                "circuit breaker trial failed; open again for %.1f s", self.reset_timeout
            )
            self._open()
        else:
            logger.info("circuit breaker closed: the trial call succeeded")
            self._failures = 0
            self._move(BreakerState.CLOSED)

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._move(BreakerState.OPEN)

    def _advance(self) -> None:
        if self._state is BreakerState.OPEN and self._clock() >= self._reopens_at():
            self._move(BreakerState.HALF_OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if self._listener is not None:
            self._listener(old, new)

    def _reopens_at(self) -> float:
        return self._opened_at + self.reset_timeout

    def _retry_after(self) -> int:
        if self._state is BreakerState.HALF_OPEN:
            return 1  # a trial is running; its outcome is due soon
        return max(1, math.ceil(self._reopens_at() - self._clock()))


class _Guard:
    """Context manager for one guarded call (a class: exceptions pass through untouched)."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._ticket: _Ticket | None = None

    def __enter__(self) -> None:
        self._ticket = self._breaker.admit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._ticket is not None  # __enter__ raised otherwise
        self._breaker.finish(self._ticket, exc)
