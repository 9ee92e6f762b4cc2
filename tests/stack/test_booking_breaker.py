"""The circuit breaker's state machine, in process, on a clock the tests move by hand."""

from __future__ import annotations

from contextlib import suppress

import pytest
from booking.breaker import BreakerState, CircuitBreaker, CircuitOpen


class Outage(Exception):
    """Stands for a database failure (what the service counts: DatabaseUnavailable)."""


class Refusal(Exception):
    """Stands for a business answer (a 404 or 409): the database did answer."""


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The hand-moved clock the breaker reads."""
    return Clock()


@pytest.fixture
def transitions() -> list[tuple[BreakerState, BreakerState]]:
    """Every state change the breaker reported, in order."""
    return []


@pytest.fixture
def breaker(clock: Clock, transitions: list[tuple[BreakerState, BreakerState]]) -> CircuitBreaker:
    """Opens after 3 consecutive outages, tries again after 10 s."""
    return CircuitBreaker(
        3,
        10.0,
        lambda error: isinstance(error, Outage),
        clock=clock,
        listener=lambda old, new: transitions.append((old, new)),
    )


def call(breaker: CircuitBreaker, error: Exception | None = None) -> None:
    """One guarded call that ends with ``error`` (raised out of the guard) or succeeds."""
    with suppress(Outage, Refusal), breaker.guard():
        if error is not None:
            raise error


def open_it(breaker: CircuitBreaker) -> None:
    """Fail enough calls in a row to open the breaker."""
    for _ in range(breaker.failure_threshold):
        call(breaker, Outage())
    assert breaker.state is BreakerState.OPEN


def test_opens_after_the_threshold_of_consecutive_failures(breaker: CircuitBreaker) -> None:
    call(breaker, Outage())
    call(breaker, Outage())
    assert breaker.state is BreakerState.CLOSED
    call(breaker, Outage())
    assert breaker.state is BreakerState.OPEN


def test_a_success_or_a_business_error_resets_the_count(breaker: CircuitBreaker) -> None:
    for ending in (None, Refusal()):
        call(breaker, Outage())
        call(breaker, Outage())
        call(breaker, ending)
    call(breaker, Outage())
    call(breaker, Outage())
    assert breaker.state is BreakerState.CLOSED


def test_open_breaker_refuses_without_calling_and_says_when_to_retry(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    open_it(breaker)
    clock.now += 2.5
    ran = False
    with pytest.raises(CircuitOpen) as refused, breaker.guard():
        ran = True
    assert not ran
    assert refused.value.state is BreakerState.OPEN
    assert refused.value.retry_after == 8  # 7.5 s left, rounded up


def test_after_the_reset_timeout_exactly_one_trial_goes_through(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    open_it(breaker)
    clock.now += 10.0
    assert breaker.state is BreakerState.HALF_OPEN

    trial = breaker.admit()
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.state is BreakerState.HALF_OPEN
    assert refused.value.retry_after == 1

    breaker.finish(trial, None)
    assert breaker.state is BreakerState.CLOSED
    call(breaker)  # closed again: calls go through


def test_a_failed_trial_opens_it_again_for_a_full_reset_timeout(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    open_it(breaker)
    clock.now += 10.0
    call(breaker, Outage())
    assert breaker.state is BreakerState.OPEN
    clock.now += 9.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN


def test_a_cancelled_trial_gives_no_verdict_and_frees_the_trial(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    open_it(breaker)
    clock.now += 10.0
    trial = breaker.admit()
    breaker.finish(trial, KeyboardInterrupt())  # any BaseException, e.g. CancelledError
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.finish(breaker.admit(), None)  # the next call may be the trial
    assert breaker.state is BreakerState.CLOSED


def test_late_outcomes_of_calls_admitted_before_opening_are_ignored(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    slow = [breaker.admit() for _ in range(2)]
    open_it(breaker)
    breaker.finish(slow[0], None)  # a late success does not close it
    assert breaker.state is BreakerState.OPEN
    clock.now += 10.0
    trial = breaker.admit()
    breaker.finish(slow[1], Outage())  # a late failure does not decide the trial
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.finish(trial, None)
    assert breaker.state is BreakerState.CLOSED


def test_listener_hears_every_transition(
    breaker: CircuitBreaker,
    clock: Clock,
    transitions: list[tuple[BreakerState, BreakerState]],
) -> None:
    open_it(breaker)
    clock.now += 10.0
    call(breaker, Outage())
    clock.now += 10.0
    call(breaker)
    closed, half, opened = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN
    assert transitions == [
        (closed, opened),
        (opened, half),
        (half, opened),
        (opened, half),
        (half, closed),
    ]


@pytest.mark.parametrize(("threshold", "reset"), [(0, 1.0), (1, 0.0)])
def test_nonsense_limits_are_refused(threshold: int, reset: float) -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(threshold, reset, lambda error: True)
