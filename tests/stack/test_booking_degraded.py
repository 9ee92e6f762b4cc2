"""The service when the database is down, stalled or too slow: honest 503s, then recovery."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

if TYPE_CHECKING:
    from booking_relay import Relay
    from conftest import Service

STARVED = 3  # requests queued behind a pool of one


@pytest.fixture(scope="module")
def database_url(make_database: Callable[..., str]) -> str:
    """A small seeded database shared by this module's tests (they only read it)."""
    return make_database("--sections", "floor:10:15000")


def test_liveness_checks_the_database_by_default_and_fails_while_it_is_down(
    start_service: Callable[..., Service], pick_port: Callable[[], int]
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{pick_port()}/postgres"
    service = start_service(nowhere, "--acquire-timeout", "0.5", ready=False)

    started = time.monotonic()
    live = service.get("/health/live")
    assert (live.status, live.body["status"]) == (503, "unavailable")
    assert live.body["reason"] and live.headers["Retry-After"] == "1"
    assert time.monotonic() - started < 3.0  # bounded by the ~1 s probe deadline


def test_readiness_is_503_while_liveness_stays_200_when_it_does_not_check_the_database(
    start_service: Callable[..., Service], pick_port: Callable[[], int]
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{pick_port()}/postgres"
    service = start_service(
        nowhere, "--acquire-timeout", "0.5", "--no-liveness-checks-db", ready=False
    )

    assert service.get("/health/live").status == 200
    started = time.monotonic()
    ready = service.get("/health/ready")
    assert ready.status == 503 and ready.body["status"] == "unavailable"
    assert ready.body["reason"]
    assert time.monotonic() - started < 3.0  # bounded by the ~1 s probe deadline

    events = service.get("/events")
    assert (events.status, events.body["error"]) == (503, "database_unavailable")
    assert events.headers["Retry-After"] == "1"
    assert service.get("/health/live").status == 200


def test_exhausted_pool_queues_requests_then_answers_503_in_time_and_forgets_them(
    start_service: Callable[..., Service],
    database_url: str,
    poll: Callable[..., None],
    events_locked: Callable[[str], Any],
) -> None:
    service = start_service(database_url, "--pool-size", "1", "--acquire-timeout", "1.5")
    assert service.metric("booking_db_pool_acquire_timeouts_total") == 0

    with ThreadPoolExecutor(max_workers=1 + STARVED) as pool, events_locked(database_url):
        # The first request takes the only connection and waits on the lock.
        stuck = pool.submit(service.get, "/events")
        poll(lambda: service.metric("booking_db_pool_connections_in_use") == 1, "in use")
        started = time.monotonic()
        queued = [pool.submit(service.get, "/events") for _ in range(STARVED)]
        poll(lambda: service.metric("booking_db_pool_requests_waiting") == STARVED, "a queue")
        for starved in (future.result(timeout=10) for future in queued):
            assert (starved.status, starved.body["error"]) == (503, "database_unavailable")
            assert starved.body["reason"] == "acquire_timeout"
            assert starved.headers["Retry-After"] == "1"
        assert time.monotonic() - started < 1.5 + 2.0  # the acquire timeout, not the stall
        # Still stalled, yet the requests that gave up are neither waiting nor holding.
        metrics = service.metrics()
        assert metrics["booking_db_pool_requests_waiting"] == 0
        assert metrics["booking_db_pool_connections_in_use"] == 1
        assert metrics["booking_db_pool_acquire_timeouts_total"] == STARVED
        assert metrics['booking_http_requests_total{route="/events",status="503"}'] == STARVED
        # Without a breaker (the default) nothing fails fast.
        assert metrics["booking_db_breaker_state"] == 0
        assert metrics["booking_db_breaker_fast_failures_total"] == 0
        assert service.get("/health/ready").status == 503
    assert stuck.result(timeout=10).status == 200

    assert service.metric("booking_db_pool_connections_in_use") == 0  # nothing leaked
    assert service.get("/health/ready").status == 200


def test_statement_timeout_frees_a_stalled_connection(
    start_service: Callable[..., Service], database_url: str, events_locked: Callable[[str], Any]
) -> None:
    service = start_service(database_url, "--pool-size", "1", "--statement-timeout", "0.5")
    with events_locked(database_url):
        started = time.monotonic()
        reply = service.get("/events")
        elapsed = time.monotonic() - started
    assert (reply.status, reply.body["error"]) == (503, "database_unavailable")
    assert reply.body["reason"] == "statement_timeout"
    assert 0.4 < elapsed < 3.0
    # The same single connection serves the next request: it went back to the pool.
    assert service.get("/events").status == 200


def test_service_started_without_database_becomes_ready_and_recovers_from_a_cut(
    start_service: Callable[..., Service],
    database_url: str,
    relay: Relay,
    poll: Callable[..., None],
) -> None:
    service = start_service(relay.route(database_url), "--acquire-timeout", "0.5", ready=False)
    assert service.get("/health/ready").status == 503

    relay.open()
    poll(lambda: service.answers("/health/ready", 200), "readiness after DB came up")
    assert service.get("/events").status == 200

    relay.cut()
    assert service.get("/events").status == 503
    relay.open()
    poll(lambda: service.answers("/events", 200), "bookings served again")


def test_unexpected_database_error_is_a_json_500_and_frees_the_connection(
    start_service: Callable[..., Service], make_database: Callable[..., str]
) -> None:
    url = make_database("--sections", "floor:10:15000")
    service = start_service(url, "--pool-size", "1")
    with psycopg.connect(url) as conn:  # schema drift: a bug, not an outage
        conn.execute("ALTER TABLE events RENAME COLUMN name TO title")

    reply = service.get("/events")
    assert (reply.status, reply.body) == (500, {"error": "internal_error"})
    assert "UndefinedColumn" in service.log()
    assert service.get("/events/1/availability").status == 200  # the only connection is back
