"""The embedded stack: every service a local process on loopback, no Docker needed.

    Locust users -> booking (127.0.0.1:B) -> fault proxy "postgres" (127.0.0.1:Q)
                                              API 127.0.0.1:A  -> PostgreSQL (127.0.0.1:R)

The booking service reaches the database only through the proxy, so every toxic on
the "postgres" proxy is felt by the service exactly as a slow or broken network would
be. Setup traffic (schema, seed data) and the integrity check go straight to
PostgreSQL: they are not under test.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from harness.backends import toxiproxy_server
from harness.backends.base import StackEndpoints
from harness.backends.ports import LOOPBACK, free_ports
from harness.backends.postgres import EmbeddedPostgres, new_data_dir
from harness.backends.processes import ManagedProcess, wait_until
from harness.errors import FaultError, StackError
from harness.experiment.model import StackSpec
from harness.faults.toxiproxy import ToxiproxyClient

log = logging.getLogger(__name__)

DB_PROXY = "postgres"


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when a GET on ``url`` answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


class LocalStack:
    """Brings the reference stack up as local processes and always takes it down."""

    def __init__(self, spec: StackSpec, booking_dir: Path, workdir: Path) -> None:
        self.spec = spec
        self.booking_dir = booking_dir
        self.workdir = workdir
        self.logs_dir = workdir / "logs"
        pg_port, api_port, proxy_port, booking_port = free_ports(4)
        self.postgres = EmbeddedPostgres(
            new_data_dir(),
            pg_port,
            self.logs_dir / "postgres.log",
            max_connections=spec.postgres.max_connections,
        )
        self.api_port = api_port
        self.proxy_port = proxy_port
        self.booking_port = booking_port
        self.proxy_server: ManagedProcess | None = None
        self.toxiproxy: toxiproxy_server.ToxiproxyChoice | None = None
        # Proxies made on a server the harness did not start, deleted on stop.
        self.created_proxies: list[tuple[ToxiproxyClient, str]] = []
        self.booking: ManagedProcess | None = None
        self.endpoints: StackEndpoints | None = None
        self.ready_seconds: float | None = None
        self.stop_seconds: float | None = None

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> StackEndpoints:
        """Start PostgreSQL, the fault proxy and the booking service; wait until ready."""
        if not (self.booking_dir / "booking").is_dir():
            raise StackError(
                f"no booking service in {self.booking_dir} (expected a 'booking' "
                "package there; set stack.booking.source)"
            )
        started = time.monotonic()
        timeout = self.spec.startup_timeout
        self.postgres.start(timeout)
        log.info("PostgreSQL ready on %s:%d", LOOPBACK, self.postgres.port)
        toxiproxy_url = self._start_proxy(timeout)
        self._seed_database()
        self._start_booking(timeout)
        self.ready_seconds = time.monotonic() - started
        self.endpoints = StackEndpoints(
            booking_url=f"http://{LOOPBACK}:{self.booking_port}",
            toxiproxy_url=toxiproxy_url,
            database_url=self.postgres.url,
            proxies={DB_PROXY: f"{LOOPBACK}:{self.proxy_port}"},
        )
        log.info("stack ready in %.2fs: booking %s", self.ready_seconds, self.endpoints.booking_url)
        return self.endpoints

    def _start_proxy(self, timeout: float) -> str:
        choice = toxiproxy_server.choose(self.spec.toxiproxy)
        self.toxiproxy = choice
        if choice.url is not None:
            url = choice.url
            if not http_ok(f"{url}/version"):
                raise StackError(
                    f"no Toxiproxy answers at {url} (stack.toxiproxy.url or "
                    f"{toxiproxy_server.URL_ENV})"
                )
        else:
            url = f"http://{LOOPBACK}:{self.api_port}"
            self.proxy_server = toxiproxy_server.server_process(
                choice, self.api_port, self.logs_dir / "toxiproxy.log"
            )
            self.proxy_server.start()
            wait_until(
                lambda: http_ok(f"{url}/version"),
                timeout=timeout,
                what="Toxiproxy API",
                process=self.proxy_server,
            )
        client = ToxiproxyClient(url)
        if choice.url is not None:
            self._take_over_proxy_name(client)
        client.create_proxy(
            DB_PROXY, f"{LOOPBACK}:{self.proxy_port}", f"{LOOPBACK}:{self.postgres.port}"
        )
        self.created_proxies.append((client, DB_PROXY))
        log.info(
            "Toxiproxy (%s) ready, API %s: %s -> PostgreSQL", choice.kind, url, self.proxy_port
        )
        return url

    @staticmethod
    def _take_over_proxy_name(client: ToxiproxyClient) -> None:
        """A running server may hold a proxy of that name from an earlier run."""
        try:
            client.proxy(DB_PROXY)
        except FaultError:
            return
        log.warning("replacing proxy %r left on the running Toxiproxy", DB_PROXY)
        client.delete_proxy(DB_PROXY)

    def _booking_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.booking_dir), env.get("PYTHONPATH", "")) if p
        )
        return env

    def _seed_database(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "booking",
            "init-db",
            "--database-url",
            self.postgres.url,
            "--seats",
            str(self.spec.booking.seats),
        ]
        log_path = self.logs_dir / "booking-init-db.log"
        with open(log_path, "ab") as out:
            result = subprocess.run(
                argv,
                env=self._booking_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-10:])
            raise StackError(f"booking init-db failed ({result.returncode}):\n{tail}")

    def _start_booking(self, timeout: float) -> None:
        booking = self.spec.booking
        via_proxy = f"postgresql://postgres@{LOOPBACK}:{self.proxy_port}/postgres"
        self.booking = ManagedProcess(
            "booking",
            [
                sys.executable,
                "-m",
                "booking",
                "serve",
                "--host",
                LOOPBACK,
                "--port",
                str(self.booking_port),
                "--database-url",
                via_proxy,
                "--pool-size",
                str(booking.pool_size),
                "--acquire-timeout",
                f"{booking.acquire_timeout:g}",
                "--replica",
                "booking-1",
            ],
            self.logs_dir / "booking-1.log",
            env=self._booking_env(),
        )
        self.booking.start()
        ready = f"http://{LOOPBACK}:{self.booking_port}/health/ready"
        wait_until(
            lambda: http_ok(ready),
            timeout=timeout,
            what="booking service readiness",
            process=self.booking,
        )

    def stop(self) -> float:
        """Stop everything started, load-facing side first; returns seconds taken."""
        started = time.monotonic()
        if self.booking is not None:
            self.booking.stop()
        self._delete_created_proxies()
        for process in (self.proxy_server,):
            if process is not None:
                process.stop()
        self.postgres.stop()
        # The database's files are tens of MB per run and not needed once the integrity
        # check has read them; logs and stats stay.
        shutil.rmtree(self.postgres.data_dir, ignore_errors=True)
        took = time.monotonic() - started
        self.stop_seconds = took
        log.info("stack stopped in %.2fs", took)
        return took

    def _delete_created_proxies(self) -> None:
        if self.proxy_server is not None:
            return  # our own server goes away with its proxies
        for client, name in self.created_proxies:
            try:
                client.delete_proxy(name)
            except FaultError as exc:
                log.error("could not delete proxy %s from the running Toxiproxy: %s", name, exc)
        self.created_proxies.clear()

    def describe(self) -> dict[str, object]:
        """Addresses and timings, for the results folder."""
        endpoints = self.endpoints.__dict__ if self.endpoints else {}
        return {
            "backend": "local",
            "ready_seconds": self.ready_seconds,
            "stop_seconds": self.stop_seconds,
            "toxiproxy": self.toxiproxy.describe() if self.toxiproxy else None,
            "endpoints": json.loads(json.dumps(endpoints)),
        }
