"""The stack in Docker: one container per service, all on the host's network.

    Locust users -> booking-1 (127.0.0.1:B) -> toxiproxy "postgres" (127.0.0.1:Q)
                    [container]                API 127.0.0.1:A  -> postgres (127.0.0.1:R)
                                               [container]          [container]

The same services on the same kind of loopback ports as the local backend, so an
experiment runs unchanged in either. Host networking is deliberate: the engine here
runs without a bridge, and load may only ever go to loopback addresses. Each container
is labelled with the run's id (see ``docker_engine``); ``stop`` saves every container's
log into ``<run>/logs/<service>.log`` and removes every container of the run, also
after a failed or interrupted start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docker.errors import DockerException

from harness.backends import toxiproxy_server
from harness.backends.base import StackEndpoints
from harness.backends.docker_containers import ServiceContainer, postgres_answers
from harness.backends.docker_engine import (
    ImageChoice,
    connect,
    ensure_image,
    label_filter,
    resolve_images,
)
from harness.backends.local import DB_PROXY, http_ok
from harness.backends.ports import LOOPBACK, free_ports
from harness.backends.processes import wait_until
from harness.errors import FaultError, ReadinessTimeout, StackError
from harness.experiment.model import StackSpec
from harness.faults.toxiproxy import ToxiproxyClient

log = logging.getLogger(__name__)

ACTIONS = ("kill", "stop", "start", "pause", "unpause", "restart")
# PostgreSQL's data lives in memory: a throwaway database, removed with its container.
# A path the image does not have: Docker applies a tmpfs's mode only to a new folder, and
# the server's user (not root) must be able to create its data folder inside.
PGDATA_MOUNT = "/concert-chaos-pgdata"
SEED_TIMEOUT = 120.0
STOP_GRACE = 5


class DockerStack:
    """Brings the reference stack up as containers and always takes every one down."""

    def __init__(self, spec: StackSpec, booking_dir: Path, workdir: Path, run_id: str) -> None:
        self.spec = spec
        self.booking_dir = booking_dir
        self.workdir = workdir
        self.run_id = run_id
        self.logs_dir = workdir / "logs"
        self.pg_port, self.api_port, self.proxy_port, self.booking_port = free_ports(4)
        self.images: dict[str, ImageChoice] = resolve_images(spec.images)
        self.toxiproxy: toxiproxy_server.ToxiproxyChoice | None = None
        self.client: Any = None
        self.services: dict[str, ServiceContainer] = {}
        self.endpoints: StackEndpoints | None = None
        self.ready_seconds: float | None = None
        self.service_ready_seconds: dict[str, float] = {}
        self.stop_seconds: float | None = None
        self._created_proxy: ToxiproxyClient | None = None
        self._lock = threading.Lock()

    @property
    def database_url(self) -> str:
        """Straight to PostgreSQL: setup and the integrity check are not under test."""
        return f"postgresql://postgres@{LOOPBACK}:{self.pg_port}/postgres"

    def start(self) -> StackEndpoints:
        """Start PostgreSQL, Toxiproxy and the booking service; wait until each is ready."""
        started = time.monotonic()
        self.client = connect()
        self.toxiproxy = toxiproxy_server.choose(self.spec.toxiproxy)
        for choice in self.images.values():
            if choice.service != "toxiproxy" or self.toxiproxy.url is None:
                ensure_image(self.client, choice)

        self._start_postgres()
        toxiproxy_url = self._start_toxiproxy()
        self._seed_database()
        self._start_booking()

        self.ready_seconds = time.monotonic() - started
        self.endpoints = StackEndpoints(
            booking_url=f"http://{LOOPBACK}:{self.booking_port}",
            toxiproxy_url=toxiproxy_url,
            database_url=self.database_url,
            proxies={DB_PROXY: f"{LOOPBACK}:{self.proxy_port}"},
        )
        log.info(
            "docker stack ready in %.2fs: booking %s",
            self.ready_seconds,
            self.endpoints.booking_url,
        )
        return self.endpoints

    def _run(
        self, service: str, image: str, command: list[str], **options: Any
    ) -> ServiceContainer:
        box = ServiceContainer.run(self.client, self.run_id, service, image, command, **options)
        self.services[service] = box
        return box

    def _wait_ready(self, box: ServiceContainer, probe: Callable[[], bool], what: str) -> None:
        def ready() -> bool:
            box.raise_if_exited(what)
            return probe()

        try:
            took = wait_until(ready, timeout=self.spec.startup_timeout, what=what)
        except ReadinessTimeout as exc:
            raise ReadinessTimeout(f"{exc}; last lines of its log:\n{box.tail()}") from exc
        self.service_ready_seconds[box.service] = round(took, 3)
        log.info("%s ready in %.2fs (container %s)", what, took, box.name)

    def _start_postgres(self) -> None:
        port = str(self.pg_port)
        box = self._run(
            "postgres",
            self.images["postgres"].image,
            [
                "postgres",
                "-p",
                port,
                # Loopback only, even on the host's network.
                "-c",
                f"listen_addresses={LOOPBACK}",
                "-c",
                f"max_connections={self.spec.postgres.max_connections}",
                # A throwaway test database, as in the local backend: durability across
                # a crash is not under test, and fsync only adds noise on a busy machine.
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            environment={
                "POSTGRES_HOST_AUTH_METHOD": "trust",
                "PGPORT": port,
                # A folder inside the mount, as the official image's docs advise for
                # mounts: the entrypoint creates it with the owner and mode it needs.
                "PGDATA": f"{PGDATA_MOUNT}/pgdata",
            },
            tmpfs={PGDATA_MOUNT: "mode=1777"},
            shm_size="256m",
            healthcheck=_healthcheck(["CMD", "pg_isready", "-q", "-h", LOOPBACK, "-p", port]),
        )
        self._wait_ready(box, lambda: postgres_answers(self.database_url), "PostgreSQL")

    def _start_toxiproxy(self) -> str:
        choice = self.toxiproxy
        assert choice is not None
        if choice.url is not None:
            url = choice.url
            if not http_ok(f"{url}/version"):
                raise StackError(f"no Toxiproxy answers at {url} ({toxiproxy_server.URL_ENV})")
        else:
            url = f"http://{LOOPBACK}:{self.api_port}"
            # -proxy-metrics turns on the byte counters the fault verification reads.
            argv = ["-host", LOOPBACK, "-port", str(self.api_port), "-proxy-metrics"]
            box = self._run("toxiproxy", self.images["toxiproxy"].image, argv)
            self._wait_ready(box, lambda: http_ok(f"{url}/version"), "Toxiproxy API")
        client = ToxiproxyClient(url)
        if choice.url is not None:
            _take_over_proxy_name(client)
            self._created_proxy = client
        client.create_proxy(DB_PROXY, f"{LOOPBACK}:{self.proxy_port}", f"{LOOPBACK}:{self.pg_port}")
        return url

    def _seed_database(self) -> None:
        """``booking init-db`` in a one-off container of the booking image."""
        argv = ["init-db", "--database-url", self.database_url]
        argv += ["--seats", str(self.spec.booking.seats)]
        box = self._run("booking-init-db", self.images["booking"].image, argv)
        code = box.wait(SEED_TIMEOUT)
        box.save_log(self.logs_dir)
        if code != 0:
            raise StackError(f"booking init-db failed ({code}):\n{box.tail()}")
        self.services.pop(box.service)
        box.remove()

    def _start_booking(self) -> None:
        booking = self.spec.booking
        port = str(self.booking_port)
        box = self._run(
            "booking-1",
            self.images["booking"].image,
            ["serve"],
            environment={
                "BOOKING_HOST": LOOPBACK,
                "BOOKING_PORT": port,
                "BOOKING_DATABASE_URL": f"postgresql://postgres@{LOOPBACK}:{self.proxy_port}"
                "/postgres",
                "BOOKING_POOL_SIZE": str(booking.pool_size),
                "BOOKING_ACQUIRE_TIMEOUT": f"{booking.acquire_timeout:g}",
                "BOOKING_REPLICA": "booking-1",
            },
            healthcheck=_healthcheck(
                [
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request as u; "
                    f"u.urlopen('http://{LOOPBACK}:{port}/health/live', timeout=1)",
                ]
            ),
        )
        ready = f"http://{LOOPBACK}:{port}/health/ready"
        self._wait_ready(box, lambda: http_ok(ready), "booking service readiness")

    def replicas(self) -> list[str]:
        """Names of the booking replicas, for container faults."""
        return [name for name in self.services if name.startswith("booking-")]

    def container_action(self, action: str, names: list[str]) -> None:
        """Apply a container fault (kill, stop, start, pause, unpause, restart) to services."""
        if action not in ACTIONS:
            raise FaultError(f"unknown container action {action!r}; use one of {ACTIONS}")
        unknown = [name for name in names if name not in self.services]
        if unknown:
            raise FaultError(
                f"no container for {unknown} in this stack; services: {sorted(self.services)}"
            )
        for name in names:
            box = self.services[name]
            try:
                box.act(action, STOP_GRACE)
            except DockerException as exc:
                raise FaultError(f"cannot {action} {name} ({box.name}): {exc}") from exc
            with self._lock:
                box.actions[action] += 1
            log.info("container fault: %s %s", action, name)

    def stop(self) -> float:
        """Save logs and remove every container of the run; the seconds it took."""
        started = time.monotonic()
        self._delete_created_proxy()
        # Load-facing side first, the database last, as the local backend does.
        for box in reversed(list(self.services.values())):
            box.stop_and_remove(self.logs_dir, STOP_GRACE)
        self._sweep()
        took = time.monotonic() - started
        self.stop_seconds = took
        log.info("docker stack stopped in %.2fs", took)
        return took

    def _delete_created_proxy(self) -> None:
        if self._created_proxy is None:
            return
        try:
            self._created_proxy.delete_proxy(DB_PROXY)
        except FaultError as exc:
            log.error("could not delete proxy %s from the running Toxiproxy: %s", DB_PROXY, exc)
        self._created_proxy = None

    def _sweep(self) -> None:
        """Remove what carries this run's label but was never tracked (an interrupted create)."""
        if self.client is None:
            return
        try:
            leftovers = self.client.containers.list(all=True, filters=label_filter(self.run_id))
        except DockerException as exc:
            log.error("could not list the run's containers (try `harness clean`): %s", exc)
            return
        for container in leftovers:
            log.warning("removing untracked container %s of this run", container.name)
            ServiceContainer.adopt(container).stop_and_remove(self.logs_dir, STOP_GRACE)

    def describe(self) -> dict[str, object]:
        """Addresses, images, timings and each container's state, for the results folder."""
        endpoints = self.endpoints.__dict__ if self.endpoints else {}
        return {
            "backend": "docker",
            "run_id": self.run_id,
            "ready_seconds": self.ready_seconds,
            "service_ready_seconds": dict(self.service_ready_seconds),
            "stop_seconds": self.stop_seconds,
            "images": {name: choice.describe() for name, choice in self.images.items()},
            "toxiproxy": self.toxiproxy.describe() if self.toxiproxy else None,
            "containers": {name: box.describe() for name, box in self.services.items()},
            "endpoints": json.loads(json.dumps(endpoints)),
        }


def _healthcheck(test: list[str]) -> dict[str, object]:
    """Docker's health check, every second; the harness's own probes decide readiness."""
    second = 1_000_000_000
    return {"test": test, "interval": second, "timeout": 2 * second, "retries": 3}


def _take_over_proxy_name(client: ToxiproxyClient) -> None:
    """A running server may hold a proxy of that name from an earlier run."""
    try:
        client.proxy(DB_PROXY)
    except FaultError:
        return
    log.warning("replacing proxy %r left on the running Toxiproxy", DB_PROXY)
    client.delete_proxy(DB_PROXY)


__all__ = ["ACTIONS", "DockerStack"]
