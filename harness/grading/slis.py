"""Service level indicators computed from the recorder's per-second counts.

Definitions (the post-mortem's table, made precise):

- availability: share of requests the service did not fail. Failed by the service
  means a 5xx answer, a client timeout, or a refused/reset/closed connection. A 4xx
  (including 409 sold out) is the service working as designed.
- error rate: share of requests that failed for any reason, i.e. anything but a
  success or an expected answer (409 sold out). Always >= 100 % - availability.
- successful bookings: completed purchases over booking attempts, where an attempt is
  a journey that found seats and tried to hold them.
- latency percentiles: over every request, failed ones included (a timed-out request
  took at least the timeout; leaving it out would flatter the service).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.experiment.model import SLI

SERVICE_FAILURES = frozenset({"server_error", "timeout", "connection_error"})
SUCCESSES = frozenset({"ok", "expected"})


@dataclass(frozen=True)
class WindowCounts:
    """What happened in one time window, for one endpoint or all of them."""

    seconds: float
    requests: int
    outcomes: Mapping[str, int]
    booking_attempts: int
    bookings_completed: int
    latency_ms: Callable[[float], float | None]


def compute(sli: SLI, window: WindowCounts) -> float | None:
    """The SLI's value in its unit (% , ms, req/s), or None when there is no data."""
    if sli is SLI.successful_bookings:
        if window.booking_attempts == 0:
            return None
        return 100.0 * window.bookings_completed / window.booking_attempts
    if window.requests == 0:
        return None
    if sli is SLI.availability:
        failed = sum(window.outcomes.get(k, 0) for k in SERVICE_FAILURES)
        return 100.0 * (window.requests - failed) / window.requests
    if sli is SLI.error_rate:
        good = sum(window.outcomes.get(k, 0) for k in SUCCESSES)
        return 100.0 * (window.requests - good) / window.requests
    if sli is SLI.throughput:
        return window.requests / window.seconds if window.seconds > 0 else None
    if sli is SLI.recovery_time:
        return None  # measured across seconds after a fault, not over one window

    percentile = {SLI.latency_p50: 50.0, SLI.latency_p95: 95.0, SLI.latency_p99: 99.0}[sli]
    return window.latency_ms(percentile)
