"""The incident's fixes as settings: the circuit breaker, connection lifetime, the start-up fill.

The database is broken the way a network fault would break it: through a relay in
front of PostgreSQL that a test cuts and restores.
"""

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

FAST = 0.5  # seconds: a refused request never waits on the pool (acquire timeouts are longer)


@pytest.fixture(scope="module")
def database_url(make_database: Callable[..., str]) -> str:
    """A small seeded database shared by this module's tests (they only read it)."""
    return make_database("--sections", "floor:10:15000")


def break_the_breaker(service: Service, relay: Relay, failures: int) -> None:
    """Cut the database off and send ``failures`` requests, which all fail and open it."""
    relay.cut()
    for _ in range(failures):
        reply = service.get("/events")
        assert reply.status == 503
        assert reply.body["reason"] in ("database_error", "acquire_timeout")
    metrics = service.metrics()
    assert metrics["booking_db_breaker_state"] == 2
    assert metrics["booking_db_breaker_opens_total"] == 1


def test_breaker_opens_after_consecutive_failures_then_fails_fast_without_the_pool(
    start_service: Callable[..., Service], database_url: str, relay: Relay
) -> None:
    relay.open()
    service = start_service(
        relay.route(database_url),
        *("--breaker", "--breaker-failure-threshold", "3", "--breaker-reset-timeout", "60"),
        *("--acquire-timeout", "1", "--no-liveness-checks-db"),
    )
    assert service.metric("booking_db_breaker_state") == 0

    break_the_breaker(service, relay, failures=3)
    before = service.metrics()
    for _ in range(4):
        started = time.monotonic()
        reply = service.get("/events")
        assert time.monotonic() - started < FAST
        assert (reply.status, reply.body["reason"]) == (503, "breaker_open")
        assert 50 <= int(reply.headers["Retry-After"]) <= 60  # until the trial, whole seconds
    started = time.monotonic()
    ready = service.get("/health/ready")
    assert time.monotonic() - started < FAST
    assert ready.status == 503 and "breaker open" in ready.body["reason"]
    assert service.get("/health/live").status == 200  # the process itself is fine

    after = service.metrics()
    assert after["booking_db_pool_requests_total"] == before["booking_db_pool_requests_total"]
    assert after["booking_db_breaker_fast_failures_total"] == 5  # 4 requests and a probe
    assert (
        after["booking_db_pool_acquire_timeouts_total"]
        == (before["booking_db_pool_acquire_timeouts_total"])
    )
    assert after["booking_db_breaker_state"] == 2


def test_half_open_breaker_lets_one_trial_through_and_closes_when_it_succeeds(
    start_service: Callable[..., Service],
    database_url: str,
    relay: Relay,
    poll: Callable[..., None],
    events_locked: Callable[[str], Any],
) -> None:
    relay.open()
    service = start_service(
        relay.route(database_url),
        *("--breaker", "--breaker-failure-threshold", "2", "--breaker-reset-timeout", "1"),
        *("--acquire-timeout", "1", "--statement-timeout", "20", "--no-liveness-checks-db"),
        # Two connections at most, so the two failures use up both that the cut broke and
        # none is left idle to fail the trial (the pool checks a connection only on return).
        *("--pool-size", "2"),
    )
    break_the_breaker(service, relay, failures=2)

    relay.open()  # the database is back; the pool reconnects in the background
    poll(lambda: service.metric("booking_db_pool_connections_idle") >= 1, "the pool to reconnect")
    poll(lambda: service.metric("booking_db_breaker_state") == 1, "half-open")
    with ThreadPoolExecutor(max_workers=1) as pool, events_locked(database_url):
        trial = pool.submit(service.get, "/events")  # held by the lock, so it stays in flight
        poll(lambda: service.metric("booking_db_pool_connections_in_use") == 1, "the trial")
        requested = service.metric("booking_db_pool_requests_total")
        for _ in range(3):
            refused = service.get("/events")
            assert (refused.status, refused.body["reason"]) == (503, "breaker_open")
            assert refused.headers["Retry-After"] == "1"
        assert service.metric("booking_db_pool_requests_total") == requested
        assert service.metric("booking_db_breaker_state") == 1
    assert trial.result(timeout=30).status == 200

    metrics = service.metrics()
    assert metrics["booking_db_breaker_state"] == 0
    assert metrics["booking_db_breaker_opens_total"] == 1
    assert service.get("/events").status == 200


def backend_pids(database_url: str, replica: str) -> set[int]:
    """Server processes of one replica's connections, found by their application_name."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (f"booking:{replica}",)
        ).fetchall()
    return {row[0] for row in rows}


def test_pool_opens_its_minimum_at_start_and_replaces_connections_past_their_lifetime(
    start_service: Callable[..., Service], database_url: str, poll: Callable[..., None]
) -> None:
    replica = "recycle-1"
    service = start_service(
        database_url, "--replica", replica, "--pool-min-size", "3", "--pool-max-lifetime", "1"
    )
    poll(lambda: len(backend_pids(database_url, replica)) == 3, "3 connections at start")
    first = backend_pids(database_url, replica)
    metrics = service.metrics()
    assert metrics["booking_db_pool_min_size"] == 3
    assert 0 <= metrics["booking_db_pool_startup_seconds"] < 30
    assert "3 of 3 start connections open" in service.log()

    def all_replaced() -> bool:
        assert service.get("/events").status == 200  # a used connection is checked on return
        return not backend_pids(database_url, replica) & first

    poll(all_replaced, "every start connection replaced after its 1 s lifetime")
    assert service.metric("booking_db_pool_connections_opened_total") >= 6
    assert len(backend_pids(database_url, replica)) == 3
