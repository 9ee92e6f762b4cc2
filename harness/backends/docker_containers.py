"""One service's container: started labelled, acted on, and always removed with its log kept."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from docker.errors import DockerException, NotFound

from harness.backends.docker_engine import SERVICE_LABEL, container_name, labels_for
from harness.backends.docker_services import ServiceSpec
from harness.errors import StackError

log = logging.getLogger(__name__)

EXITED = ("exited", "dead")


def postgres_answers(url: str) -> bool:
    """True when PostgreSQL at ``url`` runs a query."""
    try:
        with psycopg.connect(url, connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


class ServiceContainer:
    """A container of the run, under the service name experiments use (``booking-1``)."""

    def __init__(self, service: str, container: Any, image: str) -> None:
        self.service = service
        self.container = container
        self.image = image
        self.name = str(container.name)
        self.actions: Counter[str] = Counter()
        self.removed = False
        self._last: dict[str, object] = {}

    @classmethod
    def run(cls, client: Any, run_id: str, spec: ServiceSpec) -> ServiceContainer:
        """Create and start a labelled container on the host's network."""
        try:
            container = client.containers.run(
                spec.image,
                spec.command,
                name=container_name(run_id, spec.service),
                labels=labels_for(run_id, spec.service),
                network_mode="host",
                detach=True,
                **spec.options,
            )
        except DockerException as exc:
            raise StackError(
                f"cannot start the {spec.service} container ({spec.image}): {exc}"
            ) from exc
        log.debug("started %s (%s) from %s", spec.service, container.name, spec.image)
        return cls(spec.service, container, spec.image)

    @classmethod
    def adopt(cls, container: Any) -> ServiceContainer:
        """A labelled container found on the engine rather than started here."""
        labels = container.labels or {}
        return cls(labels.get(SERVICE_LABEL, container.name), container, "")

    def state(self) -> dict[str, Any]:
        """The container's current State from the engine (empty once it is gone)."""
        try:
            self.container.reload()
        except DockerException:
            return {}
        return dict(self.container.attrs.get("State") or {})

    def raise_if_exited(self, what: str) -> None:
        """Fail fast while waiting for readiness: a container that exited will not get ready."""
        state = self.state()
        if state.get("Status") in EXITED:
            raise StackError(
                f"{self.service} container exited with code {state.get('ExitCode')} while "
                f"waiting for {what}; last lines of its log:\n{self.tail()}"
            )

    def wait(self, timeout: float) -> int:
        """Wait for the container to exit; its exit code."""
        try:
            result = self.container.wait(timeout=timeout)
        except DockerException as exc:
            raise StackError(f"{self.service} did not finish: {exc}") from exc
        except OSError as exc:  # the read timed out
            raise StackError(f"{self.service} did not finish within {timeout:g}s") from exc
        return int(result.get("StatusCode", -1))

    def logs(self) -> str:
        """Everything the container wrote to stdout and stderr."""
        try:
            raw = self.container.logs(stdout=True, stderr=True)
        except DockerException:
            return ""
        return bytes(raw).decode("utf-8", errors="replace")

    def tail(self, lines: int = 20) -> str:
        """The last lines of the container's log, for error messages."""
        return "\n".join(self.logs().splitlines()[-lines:])

    def save_log(self, logs_dir: Path) -> Path:
        """Write the container's log to ``<logs_dir>/<service>.log``."""
        logs_dir.mkdir(parents=True, exist_ok=True)
        path = logs_dir / f"{self.service}.log"
        path.write_text(self.logs(), encoding="utf-8")
        return path

    def act(self, action: str, grace: int) -> bool:
        """Apply one container action; True when it brought a stopped container back.

        ``start`` is idempotent, as an orchestrator's would be: a running container is
        left alone and a paused one is unpaused (Docker refuses to start either).
        """
        container = self.container
        status = self.state().get("Status")
        if action == "start":
            if status == "paused":
                container.unpause()
                return False
            if status in ("running", "restarting"):
                return False
            container.start()
            return True
        if status == "paused" and action in ("stop", "restart"):
            # A frozen process cannot act on the stop signal: Docker would wait out the
            # whole grace period and then kill it.
            container.unpause()
        if action == "restart":
            container.restart(timeout=grace)
            return True
        simple = {
            "kill": container.kill,
            "stop": partial(container.stop, timeout=grace),
            "pause": container.pause,
            "unpause": container.unpause,
        }
        if action not in simple:
            raise ValueError(f"unknown container action {action!r}")
        simple[action]()
        return False

    def stop_and_remove(self, logs_dir: Path, grace: int) -> None:
        """Stop gracefully, keep the log and the final state, remove. Never raises."""
        if self.removed:
            return
        # Health as it was while serving; status and exit code as they are once stopped.
        last = self.describe()
        try:
            if last["status"] == "paused":
                # A frozen process cannot act on the stop signal.
                self.container.unpause()
            if last["status"] in ("running", "paused", "restarting"):
                self.container.stop(timeout=grace)
        except DockerException as exc:
            log.warning("could not stop %s gracefully: %s", self.name, exc)
        state = self.state()
        last.update(status=state.get("Status", last["status"]), exit_code=state.get("ExitCode"))
        self._last = last
        with contextlib.suppress(OSError):
            self.save_log(logs_dir)
        self.remove()

    def remove(self) -> None:
        """Remove the container and its anonymous volumes. Never raises."""
        try:
            self.container.remove(force=True, v=True)
        except NotFound:
            pass
        except DockerException as exc:
            log.error("could not remove container %s (run `harness clean`): %s", self.name, exc)
            return
        self.removed = True

    def describe(self) -> dict[str, object]:
        """Name, image, state, Docker's restart count and the harness's actions."""
        if self.removed and self._last:
            return self._last
        state = self.state()
        attrs = self.container.attrs or {}
        health = state.get("Health") or {}
        return {
            "container": self.name,
            "id": str(self.container.id or "")[:12],
            "image": self.image,
            "status": state.get("Status", "removed"),
            "exit_code": state.get("ExitCode"),
            "health": health.get("Status"),
            "restart_count": attrs.get("RestartCount", 0),
            "actions": dict(self.actions),
        }
