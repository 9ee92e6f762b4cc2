"""An orchestrator's liveness probe: restart a replica after consecutive failed probes.

Like Kubernetes' livenessProbe (periodSeconds, timeoutSeconds, failureThreshold), each
replica's liveness endpoint is probed on an interval; after ``failure_threshold``
failures in a row the replica is restarted, and probing resumes after a grace period
(initialDelaySeconds) so a booting replica is not killed again at once. Whether the
service's liveness checks the database is the service's setting: in the 31 May
incident it did, so a slow database turned into a restart storm.

Every restart is appended to ``restarts.jsonl`` in the run's folder.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.backends.processes import http_ok
from harness.experiment.model import SupervisorSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Restart:
    """One restart the supervisor made."""

    t: float
    replica: str
    failures: int
    reason: str


class Supervisor:
    """Probes replicas in a background thread and restarts the ones that fail."""

    def __init__(
        self,
        spec: SupervisorSpec,
        replica_urls: Callable[[], dict[str, str]],
        restart: Callable[[str], None],
        events_path: Path,
    ) -> None:
        self.spec = spec
        self.replica_urls = replica_urls
        self.restart = restart
        self.events_path = events_path
        self.restarts: list[Restart] = []
        self._failures: dict[str, int] = {}
        self._quiet_until: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Supervisor:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        """Begin probing (does nothing when the supervisor is disabled)."""
        if not self.spec.enabled:
            return
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop probing; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.spec.timeout + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.spec.interval):
            for name, url in self.replica_urls().items():
                if self._stop.is_set():
                    return
                self._probe(name, url)

    def _probe(self, name: str, url: str) -> None:
        now = time.monotonic()
        if self._quiet_until.get(name, 0.0) > now:
            return
        if http_ok(f"{url}{self.spec.path}", timeout=self.spec.timeout):
            self._failures[name] = 0
            return
        failures = self._failures.get(name, 0) + 1
        self._failures[name] = failures
        if failures < self.spec.failure_threshold:
            return
        reason = f"{failures} liveness probes of {self.spec.path} failed in a row"
        log.warning("supervisor: restarting %s (%s)", name, reason)
        try:
            self.restart(name)
        except Exception:
            log.exception("supervisor: restarting %s failed; will try again", name)
        self._failures[name] = 0
        self._quiet_until[name] = time.monotonic() + self.spec.initial_delay
        self._record(Restart(time.time(), name, failures, reason))

    def _record(self, restart: Restart) -> None:
        self.restarts.append(restart)
        with open(self.events_path, "a", encoding="utf-8") as out:
            out.write(json.dumps(asdict(restart)) + "\n")
