"""The service when the database is down, stalled or too slow: honest 503s, then recovery."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from conftest import Postgres, Service


@contextmanager
def events_table_locked(database_url: str) -> Iterator[None]:
    """Hold an exclusive lock on ``events``: every query on it waits, keeping its connection."""
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


@pytest.fixture(scope="module")
def database_url(make_database: Callable[..., str]) -> str:
    """A small seeded database shared by this module's tests (they only read it)."""
    return make_database("--sections", "floor:10:15000")


def test_readiness_is_503_while_liveness_stays_200_when_the_database_is_down(
    start_service: Callable[..., Service], pick_port: Callable[[], int]
) -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{pick_port()}/postgres"
    service = start_service(nowhere, "--acquire-timeout", "0.5", ready=False)

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


def test_exhausted_pool_answers_503_and_counts_acquire_timeouts(
    start_service: Callable[..., Service], database_url: str, poll: Callable[..., None]
) -> None:
    service = start_service(database_url, "--pool-size", "1", "--acquire-timeout", "0.3")
    assert service.metric("booking_db_pool_acquire_timeouts_total") == 0

    with ThreadPoolExecutor(max_workers=1) as pool, events_table_locked(database_url):
        # The first request takes the only connection and waits on the lock.
        stuck = pool.submit(service.get, "/events")
        poll(lambda: service.metric("booking_db_pool_connections_in_use") == 1, "in use")
        starved = service.get("/events")
        assert (starved.status, starved.body["error"]) == (503, "database_unavailable")
        assert starved.headers["Retry-After"] == "1"
        assert service.get("/health/ready").status == 503
        assert service.metric("booking_db_pool_acquire_timeouts_total") >= 1
        assert service.metric('booking_http_requests_total{route="/events",status="503"}') == 1
    assert stuck.result(timeout=10).status == 200

    assert service.metric("booking_db_pool_connections_in_use") == 0  # nothing leaked
    assert service.get("/health/ready").status == 200


def test_statement_timeout_frees_a_stalled_connection(
    start_service: Callable[..., Service], database_url: str
) -> None:
    service = start_service(database_url, "--pool-size", "1", "--statement-timeout", "0.5")
    with events_table_locked(database_url):
        started = time.monotonic()
        reply = service.get("/events")
        elapsed = time.monotonic() - started
    assert (reply.status, reply.body["error"]) == (503, "database_unavailable")
    assert 0.4 < elapsed < 3.0
    # The same single connection serves the next request: it went back to the pool.
    assert service.get("/events").status == 200


class Relay:
    """A loopback TCP relay to PostgreSQL that can be cut and restored, like a network fault."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port = port
        self._target = target_port
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def open(self) -> None:
        """Start accepting connections on ``self.port``."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every relayed connection."""
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                _close(sock)
        self._listener, self._sockets = None, []

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by cut()
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def test_service_started_without_database_becomes_ready_and_recovers_from_a_cut(
    start_service: Callable[..., Service],
    postgres: Postgres,
    database_url: str,
    pick_port: Callable[[], int],
    poll: Callable[..., None],
) -> None:
    relay = Relay(pick_port(), postgres.port)
    through_relay = database_url.replace(f":{postgres.port}/", f":{relay.port}/")
    service = start_service(through_relay, "--acquire-timeout", "0.5", ready=False)
    try:
        assert service.get("/health/ready").status == 503

        relay.open()
        poll(lambda: service.answers("/health/ready", 200), "readiness after DB came up")
        assert service.get("/events").status == 200

        relay.cut()
        assert service.get("/events").status == 503
        relay.open()
        poll(lambda: service.answers("/events", 200), "bookings served again")
    finally:
        relay.cut()


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
