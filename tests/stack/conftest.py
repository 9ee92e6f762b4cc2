"""Fixtures for the booking service: a real PostgreSQL 16 and service processes.

PostgreSQL comes from pgserver's bundled binaries, run directly as a child process
on a free loopback port. PostgreSQL refuses to run as root, so as root the server
runs as pgserver's unprivileged system user, with the data folder handed to it.
The service is always a subprocess (``python -m booking``) reached over HTTP only.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

if TYPE_CHECKING:
    from booking_relay import Relay

with warnings.catch_warnings():
    # pgserver's import asks platformdirs for a runtime dir and warns when
    # XDG_RUNTIME_DIR is unset; we never use that dir.
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

BOOKING_PATH = Path(__file__).resolve().parents[2] / "stack" / "booking"
for _folder in (BOOKING_PATH, Path(__file__).parent):
    # Unit tests of pure pieces (the circuit breaker, the settings) import the package,
    # and this folder holds the relay; everything else drives the service as a subprocess.
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))
PG_SYSTEM_USER = "pgserver"  # the same unprivileged user pgserver itself uses
DEADLINE = 30.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail the test naming ``what`` if it never does."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline:.0f} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def pick_port() -> Callable[[], int]:
    """``pick_port()``: a free loopback port (test modules cannot import conftest)."""
    return free_port


@pytest.fixture(scope="session")
def poll() -> Callable[..., None]:
    """``poll(condition, what, deadline=30)``: wait until a condition holds, else fail."""
    return wait_until


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL server on 127.0.0.1."""

    port: int

    def url(self, dbname: str = "postgres") -> str:
        """Connection URL for one database, as the superuser ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


def _run_as_postgres_user(workdir: Path) -> dict[str, Any]:
    """Popen arguments that run PostgreSQL unprivileged when we are root."""
    if os.geteuid() != 0:
        return {}
    entry = ensure_user_exists(PG_SYSTEM_USER)
    ensure_prefix_permissions(workdir)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXOTH)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    os.chown(workdir, entry.pw_uid, entry.pw_gid)
    return {"user": PG_SYSTEM_USER}


def _accepts_connections(server: Postgres, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        pytest.fail(f"postgres exited early with code {process.returncode}")
    try:
        with psycopg.connect(server.url(), connect_timeout=1):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL 16 for the whole session, stopped at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="booking-pg-"))
    as_user = _run_as_postgres_user(workdir)
    data = workdir / "data"
    subprocess.run(
        [POSTGRES_BIN_PATH / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
         "--encoding=utf8", "--no-sync"],
        check=True, capture_output=True, **as_user,
    )  # fmt: skip
    server = Postgres(free_port())
    log = (workdir / "postgres.log").open("wb")
    process = subprocess.Popen(
        [POSTGRES_BIN_PATH / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(server.port),
         "-k", workdir, "-c", "max_connections=300", "-c", "fsync=off",
         "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        stdout=log, stderr=subprocess.STDOUT, **as_user,
    )  # fmt: skip
    try:
        wait_until(lambda: _accepts_connections(server, process), "postgres to accept connections")
        yield server
    finally:
        process.send_signal(signal.SIGINT)  # "fast" shutdown: does not wait for clients
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def booking_command(*args: str) -> list[str]:
    """The command line of ``python -m booking ARGS``."""
    return [sys.executable, "-m", "booking", *args]


def booking_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """An environment where ``booking`` imports, with no stray BOOKING_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["PYTHONPATH"] = str(BOOKING_PATH)
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def run_booking() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_booking(*args, env=None)``: run ``python -m booking ARGS`` to completion."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            booking_command(*args), env=booking_env(env), capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip

    return run


_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def make_database(postgres: Postgres) -> Callable[..., str]:
    """Create a fresh database seeded by ``booking init-db ARGS``; returns its URL."""

    def make(*init_args: str) -> str:
        name = f"booking_{os.getpid()}_{next(_database_names)}"
        with psycopg.connect(postgres.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = postgres.url(name)
        subprocess.run(
            booking_command("init-db", "--database-url", url, *init_args),
            env=booking_env(), check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return url

    return make


@dataclass
class Reply:
    """One HTTP answer: status, headers and the body parsed as JSON when it is JSON."""

    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Service:
    """A running ``booking serve`` process and a small HTTP client for it."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """Send one request; any status (2xx-5xx) comes back as a ``Reply``."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return _reply(error.code, dict(error.headers), error.read())

    def get(self, path: str) -> Reply:
        """GET ``path``."""
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        """POST ``body`` as JSON to ``path``."""
        return self.request("POST", path, body, headers)

    def answers(self, path: str, status: int) -> bool:
        """True when GET ``path`` answers ``status`` (False while not listening yet)."""
        try:
            return self.get(path).status == status
        except OSError:
            return False

    def metric(self, series: str) -> float:
        """The value of one exact series (name plus labels) from ``/metrics``."""
        value = self.metrics().get(series)
        if value is None:
            raise AssertionError(f"{series} is not in the metrics of {self.base_url}")
        return value

    def metrics(self) -> dict[str, float]:
        """Every series of one ``/metrics`` scrape, by name plus labels."""
        series: dict[str, float] = {}
        for line in self.get("/metrics").body.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                series[name] = float(value)
        return series

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM the service and wait for it to exit; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        """Everything the service wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")


def _reply(status: int, headers: dict[str, str], raw: bytes) -> Reply:
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    return Reply(status, headers, body)


class ServiceLauncher:
    """Starts ``booking serve`` processes on free ports, logging to files in one folder."""

    def __init__(self, log_dir: Path) -> None:
        self._log_dir = log_dir
        self._count = itertools.count(1)

    def start(
        self,
        database_url: str | None,
        *flags: str,
        env: dict[str, str] | None = None,
        ready: bool = True,
    ) -> Service:
        """Start one replica; returns once it listens (and, if ``ready``, readiness is 200)."""
        port = free_port()
        log_path = self._log_dir / f"service-{next(self._count)}-port-{port}.log"
        argv = ["serve", "--host", "127.0.0.1", "--port", str(port), *flags]
        if database_url is not None:  # None: the test sets BOOKING_DATABASE_URL instead
            argv += ["--database-url", database_url]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                booking_command(*argv), env=booking_env(env), stdout=log, stderr=log
            )
        service = Service(process, f"http://127.0.0.1:{port}", log_path)
        try:
            wait_until(lambda: _listening(service), f"the service to listen on port {port}")
            if ready:
                wait_until(lambda: service.answers("/health/ready", 200), "readiness")
        except BaseException:
            service.stop()
            raise
        return service


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> ServiceLauncher:
    """Starts service processes; whoever starts one stops it."""
    return ServiceLauncher(tmp_path_factory.mktemp("services"))


@pytest.fixture
def start_service(launcher: ServiceLauncher) -> Iterator[Callable[..., Service]]:
    """``start_service(url, *flags, env=None, ready=True)``: replicas stopped after the test."""
    services: list[Service] = []

    def start(database_url: str | None, *flags: str, **options: Any) -> Service:
        service = launcher.start(database_url, *flags, **options)
        services.append(service)
        return service

    yield start
    for service in services:
        service.stop()


def _listening(service: Service) -> bool:
    """True once the service answers HTTP (``/metrics`` never touches the database)."""
    if service.process.poll() is not None:
        pytest.fail(f"the service exited with {service.process.returncode}:\n{service.log()}")
    return service.answers("/metrics", 200)


@contextmanager
def _events_table_locked(database_url: str) -> Iterator[None]:
    with psycopg.connect(database_url) as conn:
        conn.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


@pytest.fixture(scope="session")
def events_locked() -> Callable[[str], Any]:
    """``with events_locked(url):`` holds an exclusive lock on ``events``.

    Every query on the table waits meanwhile, keeping its pooled connection: a stall
    that the database itself causes, with no network fault involved.
    """
    return _events_table_locked


@pytest.fixture
def relay(postgres: Postgres) -> Iterator[Relay]:
    """A relay to the session's PostgreSQL on a free port, closed (not yet open); cut after."""
    from booking_relay import Relay  # importable once this module has put its folder on the path

    relay = Relay(free_port(), postgres.port)
    yield relay
    relay.cut()
