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
import shutil
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from types import TracebackType

from harness.backends import toxiproxy_server
from harness.backends.base import StackEndpoints
from harness.backends.ports import LOOPBACK, free_ports
from harness.backends.postgres import EmbeddedPostgres, new_data_dir
from harness.backends.processes import ManagedProcess, http_ok, wait_until
from harness.backends.replicas import LocalReplicas
from harness.errors import FaultError, StackError
from harness.experiment.model import StackSpec
from harness.faults.toxiproxy import ToxiproxyClient

__all__ = ["DB_PROXY", "LocalStack"]

log = logging.getLogger(__name__)

DB_PROXY = "postgres"


class LocalStack:
    """Brings the reference stack up as local processes and always takes it down."""

    def __init__(self, spec: StackSpec, booking_dir: Path, workdir: Path) -> None:
        self.spec = spec
        self.booking_dir = booking_dir
        self.workdir = workdir
        self.logs_dir = workdir / "logs"
        pg_port, api_port, proxy_port = free_ports(3)
        self.postgres = EmbeddedPostgres(
            new_data_dir(),
            pg_port,
            self.logs_dir / "postgres.log",
            max_connections=spec.postgres.max_connections,
        )
        self.api_port = api_port
        self.proxy_port = proxy_port
        self.proxy_server: ManagedProcess | None = None
        self.toxiproxy: toxiproxy_server.ToxiproxyChoice | None = None
        # Proxies made on a server the harness did not start, deleted on stop.
        self.created_proxies: list[tuple[ToxiproxyClient, str]] = []
        self.replicas = LocalReplicas(
            spec.booking,
            booking_dir,
            self.logs_dir,
            database_url=f"postgresql://postgres@{LOOPBACK}:{proxy_port}/postgres",
        )
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
        # Processes boot in parallel where the order allows: each waits only for what
        # it needs (the proxy for PostgreSQL, the replicas for the proxy).
        self._launch_proxy()
        self.postgres.launch()
        self.postgres.wait_ready(timeout)
        log.info("PostgreSQL ready on %s:%d", LOOPBACK, self.postgres.port)
        toxiproxy_url = self._configure_proxy(timeout)
        self.replicas.launch()
        self._seed_database()
        self.replicas.wait_ready(timeout)
        self.ready_seconds = time.monotonic() - started
        self.endpoints = StackEndpoints(
            booking_url=self.replicas.entry_url,
            toxiproxy_url=toxiproxy_url,
            database_url=self.postgres.url,
            proxies={DB_PROXY: f"{LOOPBACK}:{self.proxy_port}"},
        )
        log.info("stack ready in %.2fs: booking %s", self.ready_seconds, self.endpoints.booking_url)
        return self.endpoints

    def _launch_proxy(self) -> None:
        """Choose the Toxiproxy server and start it if it is ours to start."""
        self.toxiproxy = toxiproxy_server.choose(self.spec.toxiproxy)
        if self.toxiproxy.url is None:
            self.proxy_server = toxiproxy_server.server_process(
                self.toxiproxy, self.api_port, self.logs_dir / "toxiproxy.log"
            )
            self.proxy_server.start()

    def _configure_proxy(self, timeout: float) -> str:
        """Wait for the Toxiproxy API and create the proxy in front of PostgreSQL."""
        choice = self.toxiproxy
        assert choice is not None, "_launch_proxy() first"
        url = choice.url or f"http://{LOOPBACK}:{self.api_port}"
        if self.proxy_server is None:
            if not http_ok(f"{url}/version"):
                raise StackError(
                    f"no Toxiproxy answers at {url} (stack.toxiproxy.url or "
                    f"{toxiproxy_server.URL_ENV})"
                )
        else:
            wait_until(
                partial(http_ok, f"{url}/version"),
                timeout=timeout,
                what="Toxiproxy API",
                process=self.proxy_server,
            )
        client = ToxiproxyClient(url)
        if choice.url is not None:
            client.take_over(DB_PROXY)
        client.create_proxy(
            DB_PROXY, f"{LOOPBACK}:{self.proxy_port}", f"{LOOPBACK}:{self.postgres.port}"
        )
        self.created_proxies.append((client, DB_PROXY))
        log.info(
            "Toxiproxy (%s) ready, API %s: %s -> PostgreSQL", choice.kind, url, self.proxy_port
        )
        return url

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
                env=self.replicas.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-10:])
            raise StackError(f"booking init-db failed ({result.returncode}):\n{tail}")

    def stop(self) -> float:
        """Stop everything started, load-facing side first; returns seconds taken."""
        started = time.monotonic()
        self.replicas.stop()
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

    def replica_urls(self) -> dict[str, str]:
        """Each booking replica's own address, by name."""
        return {name: self.replicas.url(name) for name in self.replicas.names()}

    def replica_action(self, name: str, action: str) -> None:
        """kill, stop, start, pause, resume or restart one replica."""
        self.replicas.act(name, action)

    def describe(self) -> dict[str, object]:
        """Addresses and timings, for the results folder."""
        endpoints = self.endpoints.__dict__ if self.endpoints else {}
        return {
            "backend": "local",
            "ready_seconds": self.ready_seconds,
            "stop_seconds": self.stop_seconds,
            "toxiproxy": self.toxiproxy.describe() if self.toxiproxy else None,
            "replicas": self.replica_urls(),
            "replica_restarts": dict(self.replicas.restarts),
            "endpoints": json.loads(json.dumps(endpoints)),
        }
