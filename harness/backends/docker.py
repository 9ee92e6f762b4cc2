"""The stack in Docker: one container per service, all on the host's network.

    Locust users -> balancer (127.0.0.1:E) -> booking-N (127.0.0.1:B)
                    [harness process]          [containers]
                 -> toxiproxy "postgres" (127.0.0.1:Q, API :A) -> postgres (127.0.0.1:R)
                    [container]                                    [container]

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
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from docker.errors import DockerException

from harness.backends import docker_services as services
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
from harness.backends.local import DB_PROXY
from harness.backends.ports import LOOPBACK, free_ports
from harness.backends.processes import ManagedProcess, http_ok, wait_until
from harness.errors import FaultError, ReadinessTimeout, StackError
from harness.experiment.model import StackSpec
from harness.faults.toxiproxy import ToxiproxyClient

log = logging.getLogger(__name__)

# ``resume`` is the replica faults' word for Docker's ``unpause``; both are accepted.
ACTIONS = ("kill", "stop", "start", "pause", "unpause", "resume", "restart")
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
        count = spec.booking.replicas
        *booking_ports, self.entry_port = free_ports(count + 1)
        self.pg_port, self.api_port, self.proxy_port = free_ports(3)
        self.replica_ports = {f"booking-{i + 1}": p for i, p in enumerate(booking_ports)}
        self.images: dict[str, ImageChoice] = resolve_images(spec.images)
        self.toxiproxy: toxiproxy_server.ToxiproxyChoice | None = None
        self.client: Any = None
        self.services: dict[str, ServiceContainer] = {}
        self.balancer: ManagedProcess | None = None
        self.restarts: dict[str, int] = dict.fromkeys(self.replica_ports, 0)
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
        """Start PostgreSQL, Toxiproxy and the booking replicas; wait until each is ready."""
        started = time.monotonic()
        self.client = connect()
        self.toxiproxy = toxiproxy_server.choose(self.spec.toxiproxy)
        for choice in self.images.values():
            if choice.service != "toxiproxy" or self.toxiproxy.url is None:
                ensure_image(self.client, choice)

        # Containers boot in parallel where the order allows: each waits only for what
        # it needs (the proxy for PostgreSQL, the replicas for the proxy and the seed).
        pg_image = self._image("postgres")
        postgres = self._run(services.postgres_service(pg_image, self.pg_port, self.spec.postgres))
        toxiproxy_url = self._launch_toxiproxy()
        self._wait_ready(postgres, partial(postgres_answers, self.database_url), "PostgreSQL")
        self._configure_proxy(toxiproxy_url)
        self._launch_replicas()
        self._seed_database()
        self._wait_replicas()

        self.ready_seconds = time.monotonic() - started
        self.endpoints = StackEndpoints(
            booking_url=f"http://{LOOPBACK}:{self.entry_port}",
            toxiproxy_url=toxiproxy_url,
            database_url=self.database_url,
            proxies={DB_PROXY: f"{LOOPBACK}:{self.proxy_port}"},
        )
        log.info(
            "docker stack ready in %.2fs: booking on port %d", self.ready_seconds, self.entry_port
        )
        return self.endpoints

    def _image(self, service: str) -> str:
        return self.images[service].image

    def _run(self, spec: services.ServiceSpec) -> ServiceContainer:
        box = ServiceContainer.run(self.client, self.run_id, spec)
        self.services[spec.service] = box
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

    def _launch_toxiproxy(self) -> str:
        """Start the Toxiproxy container unless a running server was given; its API URL."""
        choice = self.toxiproxy
        assert choice is not None
        if choice.url is not None:
            return choice.url
        self._run(services.toxiproxy_service(self._image("toxiproxy"), self.api_port))
        return f"http://{LOOPBACK}:{self.api_port}"

    def _configure_proxy(self, url: str) -> None:
        """Wait for the Toxiproxy API and create the proxy in front of PostgreSQL."""
        version = partial(http_ok, f"{url}/version")
        box = self.services.get("toxiproxy")
        if box is not None:
            self._wait_ready(box, version, "Toxiproxy API")
        elif not version():
            raise StackError(f"no Toxiproxy answers at {url} ({toxiproxy_server.URL_ENV})")
        client = ToxiproxyClient(url)
        if box is None:
            client.take_over(DB_PROXY)
            self._created_proxy = client
        listen, upstream = f"{LOOPBACK}:{self.proxy_port}", f"{LOOPBACK}:{self.pg_port}"
        client.create_proxy(DB_PROXY, listen, upstream)

    def _seed_database(self) -> None:
        """``booking init-db`` in a one-off container of the booking image."""
        seats = self.spec.booking.seats
        box = self._run(services.seed_service(self._image("booking"), self.database_url, seats))
        code = box.wait(SEED_TIMEOUT)
        box.save_log(self.logs_dir)
        if code != 0:
            raise StackError(f"booking init-db failed ({code}):\n{box.tail()}")
        self.services.pop(box.service)
        box.remove()

    def _launch_replicas(self) -> None:
        """Every booking replica (through the proxy) and the balancer in front of them."""
        via_proxy = f"postgresql://postgres@{LOOPBACK}:{self.proxy_port}/postgres"
        for name, port in self.replica_ports.items():
            image = self._image("booking")
            self._run(services.booking_service(image, name, port, via_proxy, self.spec.booking))
        backends = [f"--backend={LOOPBACK}:{port}" for port in self.replica_ports.values()]
        self.balancer = ManagedProcess(
            "balancer",
            [sys.executable, "-m", "harness.backends.balancer",
             "--listen", f"{LOOPBACK}:{self.entry_port}", *backends],
            self.logs_dir / "balancer.log",
        )  # fmt: skip
        self.balancer.start()

    def _wait_replicas(self) -> None:
        for name in self.replica_ports:
            ready = partial(http_ok, f"{self.replica_urls()[name]}/health/ready")
            self._wait_ready(self.services[name], ready, f"{name} readiness")
        assert self.balancer is not None
        entry = f"http://{LOOPBACK}:{self.entry_port}/health/live"
        timeout = self.spec.startup_timeout
        wait_until(
            partial(http_ok, entry), timeout=timeout, what="the balancer", process=self.balancer
        )

    def replicas(self) -> list[str]:
        """Names of the booking replicas, for container faults."""
        return list(self.replica_ports)

    def replica_urls(self) -> dict[str, str]:
        """Each booking replica's own address, by name (probes and metrics)."""
        return {name: f"http://{LOOPBACK}:{port}" for name, port in self.replica_ports.items()}

    def replica_action(self, name: str, action: str) -> None:
        """kill, stop, start, pause, resume or restart one replica."""
        if name not in self.replica_ports:
            raise FaultError(f"no replica {name!r}; replicas: {', '.join(self.replica_ports)}")
        self.container_action(action, [name])

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
                came_back = box.act("unpause" if action == "resume" else action, STOP_GRACE)
            except DockerException as exc:
                raise FaultError(f"cannot {action} {name} ({box.name}): {exc}") from exc
            with self._lock:
                box.actions[action] += 1
                if came_back and name in self.restarts:
                    self.restarts[name] += 1
            log.info("container fault: %s %s", action, name)

    def stop(self) -> float:
        """Save logs and remove every container of the run; the seconds it took."""
        started = time.monotonic()
        if self.balancer is not None:
            self.balancer.stop()
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
            "replicas": self.replica_urls(),
            "replica_restarts": dict(self.restarts),
            "containers": {name: box.describe() for name, box in self.services.items()},
            "endpoints": json.loads(json.dumps(endpoints)),
        }


__all__ = ["ACTIONS", "DockerStack"]
