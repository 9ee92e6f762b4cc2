"""SLI arithmetic over one window of counts."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from harness.experiment.model import SLI
from harness.grading.slis import WindowCounts, compute


def window(
    outcomes: Mapping[str, int] | None = None,
    *,
    seconds: float = 10.0,
    attempts: int = 0,
    completed: int = 0,
    latencies: Mapping[float, float] | None = None,
) -> WindowCounts:
    outcomes = dict(outcomes or {})
    table = dict(latencies or {})
    return WindowCounts(
        seconds=seconds,
        requests=sum(outcomes.values()),
        outcomes=outcomes,
        booking_attempts=attempts,
        bookings_completed=completed,
        latency_ms=table.get,
    )


@pytest.mark.parametrize("failure", ["server_error", "timeout", "connection_error"])
def test_availability_counts_service_failures(failure: str) -> None:
    assert compute(SLI.availability, window({"ok": 990, failure: 10})) == pytest.approx(99.0)


@pytest.mark.parametrize("not_a_failure", ["expected", "client_error", "other_error"])
def test_availability_ignores_answers_that_are_not_service_failures(not_a_failure: str) -> None:
    assert compute(SLI.availability, window({"ok": 900, not_a_failure: 100})) == 100.0


def test_availability_with_every_outcome() -> None:
    counts = {
        "ok": 9000,
        "expected": 500,
        "client_error": 300,
        "other_error": 100,
        "server_error": 50,
        "timeout": 30,
        "connection_error": 20,
    }

    assert compute(SLI.availability, window(counts)) == pytest.approx(99.0)


@pytest.mark.parametrize(
    "failure", ["client_error", "server_error", "timeout", "connection_error", "other_error"]
)
def test_error_rate_counts_everything_but_ok_and_expected(failure: str) -> None:
    counts = {"ok": 700, "expected": 250, failure: 50}

    assert compute(SLI.error_rate, window(counts)) == pytest.approx(5.0)


def test_error_rate_is_at_least_the_unavailability() -> None:
    counts = {"ok": 950, "client_error": 30, "timeout": 20}
    sample = window(counts)

    error_rate = compute(SLI.error_rate, sample)
    availability = compute(SLI.availability, sample)

    assert error_rate == pytest.approx(5.0)
    assert availability == pytest.approx(98.0)
    assert error_rate >= 100 - availability


def test_successful_bookings_is_completed_over_attempts() -> None:
    sample = window({"ok": 10}, attempts=200, completed=199)

    assert compute(SLI.successful_bookings, sample) == pytest.approx(99.5)


def test_successful_bookings_needs_attempts_not_requests() -> None:
    assert compute(SLI.successful_bookings, window({}, attempts=4, completed=4)) == 100.0
    assert compute(SLI.successful_bookings, window({"ok": 100})) is None


def test_throughput_is_requests_per_second_of_the_window() -> None:
    assert compute(SLI.throughput, window({"ok": 250}, seconds=5.0)) == pytest.approx(50.0)
    assert compute(SLI.throughput, window({"ok": 250}, seconds=0.0)) is None


@pytest.mark.parametrize(
    ("sli", "percentile"),
    [(SLI.latency_p50, 50.0), (SLI.latency_p95, 95.0), (SLI.latency_p99, 99.0)],
)
def test_latency_slis_read_their_percentile(sli: SLI, percentile: float) -> None:
    sample = window({"ok": 10}, latencies={50.0: 12.0, 95.0: 480.0, 99.0: 900.0})

    assert compute(sli, sample) == {50.0: 12.0, 95.0: 480.0, 99.0: 900.0}[percentile]


@pytest.mark.parametrize(
    "sli",
    [SLI.availability, SLI.error_rate, SLI.throughput, SLI.latency_p95, SLI.successful_bookings],
)
def test_no_requests_means_no_value(sli: SLI) -> None:
    assert compute(sli, window({}, latencies={95.0: 1.0})) is None
