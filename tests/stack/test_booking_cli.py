"""The ``python -m booking`` command line: init-db, settings from flags and env, shutdown."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from conftest import Service

Run = Callable[..., subprocess.CompletedProcess[str]]

SETTING_KEYS = (
    "breaker",
    "breaker_failure_threshold",
    "breaker_reset_timeout",
    "liveness_checks_db",
    "pool_size",
    "pool_min_size",
    "pool_max_lifetime",
    "pool_max_idle",
    "replica",
)


@pytest.fixture
def scratch_database(make_database: Callable[..., str]) -> str:
    """A database of this test's own, seeded with the defaults; free to seed again."""
    return make_database()


def seat_counts(url: str) -> dict[str, int]:
    """Seats per section of event 1."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT section, count(*) FROM seats WHERE event_id = 1 GROUP BY section"
        ).fetchall()
    return dict(rows)


def test_init_db_seeds_one_concert_of_3000_seats_in_sections(
    run_booking: Run, scratch_database: str
) -> None:
    done = run_booking("init-db", "--database-url", scratch_database)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.strip().splitlines()) == 1
    assert "3000 seats in 3 sections" in done.stdout
    counts = seat_counts(scratch_database)
    assert sum(counts.values()) == 3000 and len(counts) == 3
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT id, capacity FROM events").fetchall() == [(1, 3000)]
        prices = conn.execute("SELECT DISTINCT section, price_cents FROM seats").fetchall()
    assert len(prices) == 3  # one price per section


def test_init_db_again_resets_everything(run_booking: Run, scratch_database: str) -> None:
    with psycopg.connect(scratch_database) as conn:
        conn.execute("DELETE FROM seats WHERE section = 'floor'")
    done = run_booking("init-db", "--database-url", scratch_database, "--seats", "100")
    assert done.returncode == 0, done.stderr
    assert sum(seat_counts(scratch_database).values()) == 100
    with psycopg.connect(scratch_database) as conn:
        assert conn.execute("SELECT count(*) FROM seats WHERE status <> 'free'").fetchone() == (0,)


def test_init_db_takes_explicit_sections(run_booking: Run, scratch_database: str) -> None:
    sections = "floor:30:15000,box:4:40000,gallery:16:2000,standing:50:3000"
    done = run_booking("init-db", "--database-url", scratch_database, "--sections", sections)
    assert done.returncode == 0, done.stderr
    assert seat_counts(scratch_database) == {"floor": 30, "box": 4, "gallery": 16, "standing": 50}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--sections", "floor:10"), "name:seats:price_cents"),
        (("--sections", "floor:10:100", "--seats", "11"), "disagrees"),
        (("--seats", "2"), "at least 3"),
    ],
)
def test_init_db_rejects_bad_seed_plans_before_connecting(
    run_booking: Run, pick_port: Callable[[], int], args: tuple[str, ...], message: str
) -> None:
    nowhere = f"postgresql://x@127.0.0.1:{pick_port()}/x"
    done = run_booking("init-db", "--database-url", nowhere, *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_init_db_fails_clearly_when_the_database_is_unreachable(
    run_booking: Run, pick_port: Callable[[], int]
) -> None:
    done = run_booking("init-db", "--database-url", f"postgresql://x@127.0.0.1:{pick_port()}/x")
    assert done.returncode == 1
    assert "cannot reach the database" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_reads_env_and_flags_win(
    start_service: Callable[..., Service], scratch_database: str
) -> None:
    env = {"BOOKING_REPLICA": "from-env", "BOOKING_POOL_SIZE": "7"}
    service = start_service(scratch_database, "--replica", "from-flag", env=env)
    assert service.get("/health/live").body["replica"] == "from-flag"
    assert service.metric("booking_db_pool_size") == 7


def test_admin_settings_reports_what_flags_and_env_chose_and_hides_the_password(
    start_service: Callable[..., Service], scratch_database: str
) -> None:
    with_password = scratch_database.replace("postgres@", "postgres:s3cret@")
    env = {
        "BOOKING_BREAKER": "on",  # the flag below wins
        "BOOKING_BREAKER_FAILURE_THRESHOLD": "7",
        "BOOKING_LIVENESS_CHECKS_DB": "false",
        "BOOKING_POOL_MAX_IDLE": "30",
    }
    service = start_service(
        with_password,
        *("--no-breaker", "--breaker-reset-timeout", "2.5", "--replica", "set-1"),
        *("--pool-size", "9", "--pool-min-size", "4", "--pool-max-lifetime", "120"),
        env=env,
    )

    reply = service.get("/admin/settings")
    assert reply.status == 200
    assert "s3cret" not in json.dumps(reply.body)
    chosen = {key: reply.body[key] for key in SETTING_KEYS}
    assert chosen == {
        "breaker": False,
        "breaker_failure_threshold": 7,
        "breaker_reset_timeout": 2.5,
        "liveness_checks_db": False,
        "pool_size": 9,
        "pool_min_size": 4,
        "pool_max_lifetime": 120.0,
        "pool_max_idle": 30.0,
        "replica": "set-1",
    }
    assert reply.body["database"]["dbname"] == scratch_database.rsplit("/", 1)[1]


def test_serve_takes_the_database_url_from_env(
    start_service: Callable[..., Service], scratch_database: str
) -> None:
    service = start_service(None, env={"BOOKING_DATABASE_URL": scratch_database})
    assert service.get("/events").status == 200


def test_serve_without_a_database_url_exits_2(run_booking: Run) -> None:
    done = run_booking("serve", "--port", "0")
    assert done.returncode == 2
    assert "BOOKING_DATABASE_URL" in done.stderr


def test_serve_on_a_taken_port_exits_1(run_booking: Run, scratch_database: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run_booking("serve", "--port", port, "--database-url", scratch_database)
    assert done.returncode == 1
    assert "cannot listen" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_within_two_seconds(
    start_service: Callable[..., Service], scratch_database: str, signum: signal.Signals
) -> None:
    service = start_service(scratch_database)
    service.get("/events")
    started = time.monotonic()
    service.process.send_signal(signum)
    assert service.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 2.5
    log = service.log()
    for phase in ("opening in the background", "listening on", "stopping", "stopped"):
        assert phase in log
    assert "Traceback" not in log


def test_serve_stops_within_two_seconds_with_a_request_stuck_on_the_database(
    start_service: Callable[..., Service], scratch_database: str, poll: Callable[..., None]
) -> None:
    service = start_service(scratch_database, "--statement-timeout", "30")
    with ThreadPoolExecutor(max_workers=1) as pool, psycopg.connect(scratch_database) as conn:
        conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        stuck = pool.submit(service.get, "/events")
        poll(lambda: service.metric("booking_db_pool_connections_in_use") == 1, "a stuck request")
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(timeout=10) == 0
        assert time.monotonic() - started < 2.5
        conn.rollback()
        with pytest.raises(OSError):  # cut off at shutdown rather than left hanging
            stuck.result(timeout=10)
