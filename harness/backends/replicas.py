"""The booking replicas of a local stack, behind one balancer address.

Each replica is a process with its own connection pool, so PostgreSQL sees up to
replicas x pool size connections. Replicas can be killed, stopped and started,
paused and resumed, or restarted, by a fault of the timeline or by the supervisor,
the way an orchestrator and a chaos tool would treat containers.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from harness.backends.ports import LOOPBACK, free_ports
from harness.backends.processes import ManagedProcess, http_ok, wait_until
from harness.errors import StackError
from harness.experiment.model import BookingSpec

log = logging.getLogger(__name__)

ACTIONS = ("kill", "stop", "start", "pause", "resume", "restart")


def setting_env(settings: Mapping[str, object]) -> dict[str, str]:
    """``{"breaker": True}`` -> ``{"BOOKING_BREAKER": "true"}``: service settings by env."""
    env = {}
    for key, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"BOOKING_{key.upper()}"] = text
    return env


class LocalReplicas:
    """N booking processes and the balancer in front of them."""

    def __init__(
        self, spec: BookingSpec, booking_dir: Path, logs_dir: Path, database_url: str
    ) -> None:
        self.spec = spec
        self.booking_dir = booking_dir
        self.logs_dir = logs_dir
        self.database_url = database_url
        *ports, self.entry_port = free_ports(spec.replicas + 1)
        self.ports = {f"booking-{i + 1}": port for i, port in enumerate(ports)}
        self.processes: dict[str, ManagedProcess] = {}
        self.balancer: ManagedProcess | None = None
        self.paused: set[str] = set()
        self.restarts: dict[str, int] = dict.fromkeys(self.ports, 0)

    @property
    def entry_url(self) -> str:
        """The one address clients use."""
        return f"http://{LOOPBACK}:{self.entry_port}"

    def url(self, name: str) -> str:
        """A replica's own address (probes, metrics)."""
        return f"http://{LOOPBACK}:{self.ports[name]}"

    def names(self) -> list[str]:
        """Replica names, booking-1 first."""
        return list(self.ports)

    def env(self) -> dict[str, str]:
        """The environment of a booking process: PYTHONPATH and its settings."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(self.booking_dir), env.get("PYTHONPATH", "")) if p
        )
        env.update(setting_env(self.spec.settings))
        return env

    def _process(self, name: str) -> ManagedProcess:
        argv = [
            sys.executable, "-m", "booking", "serve",
            "--host", LOOPBACK, "--port", str(self.ports[name]),
            "--database-url", self.database_url,
            "--pool-size", str(self.spec.pool_size),
            "--acquire-timeout", f"{self.spec.acquire_timeout:g}",
            "--replica", name,
        ]  # fmt: skip
        return ManagedProcess(name, argv, self.logs_dir / f"{name}.log", env=self.env())

    def start(self, timeout: float) -> None:
        """Start every replica and the balancer; wait until each is ready."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start every replica and the balancer; returns without waiting for them."""
        for name in self.ports:
            self.processes[name] = self._process(name)
            self.processes[name].start()
        backends = [
            arg for port in self.ports.values() for arg in ("--backend", f"{LOOPBACK}:{port}")
        ]
        self.balancer = ManagedProcess(
            "balancer",
            [
                sys.executable, "-m", "harness.backends.balancer",
                "--listen", f"{LOOPBACK}:{self.entry_port}", *backends,
            ],
            self.logs_dir / "balancer.log",
        )  # fmt: skip
        self.balancer.start()

    def wait_ready(self, timeout: float) -> None:
        """Wait until every replica is ready and the balancer passes requests."""
        assert self.balancer is not None, "launch() first"
        for name, process in self.processes.items():
            wait_until(
                partial(http_ok, f"{self.url(name)}/health/ready"),
                timeout=timeout,
                what=f"{name} readiness",
                process=process,
            )
        wait_until(
            partial(http_ok, f"{self.entry_url}/health/live"),
            timeout=timeout,
            what="the balancer",
            process=self.balancer,
        )

    def act(self, name: str, action: str) -> None:
        """Apply a replica action: kill, stop, start, pause, resume or restart."""
        if name not in self.ports:
            raise StackError(f"no replica {name!r}; replicas: {', '.join(self.ports)}")
        process = self.processes.get(name)
        if action == "kill" and process is not None:
            process.kill()
        elif action == "stop" and process is not None:
            process.stop()
        elif action == "start":
            self._start_again(name)
        elif action == "pause" and process is not None:
            process.send_signal(signal.SIGSTOP)
            self.paused.add(name)
        elif action == "resume" and process is not None:
            process.send_signal(signal.SIGCONT)
            self.paused.discard(name)
        elif action == "restart":
            if process is not None:
                process.stop()
            self._start_again(name)
        elif action not in ACTIONS:
            raise StackError(f"unknown replica action {action!r}; accepted: {', '.join(ACTIONS)}")
        log.info("replica %s: %s", name, action)

    def _start_again(self, name: str) -> None:
        old = self.processes.get(name)
        if old is not None and old.alive():
            if name in self.paused:
                old.send_signal(signal.SIGCONT)
                self.paused.discard(name)
            return
        self.processes[name] = self._process(name)
        self.processes[name].start()
        self.restarts[name] += 1

    def stop(self) -> None:
        """Stop the balancer, then every replica (resumed first, so it can exit)."""
        if self.balancer is not None:
            self.balancer.stop()
        for name, process in self.processes.items():
            if name in self.paused:
                process.send_signal(signal.SIGCONT)
            process.stop()
