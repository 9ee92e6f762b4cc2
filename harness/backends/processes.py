"""Child processes the harness starts, each in a process group of its own.

A separate session per child means Ctrl-C in the terminal reaches only the harness,
which then stops the children in order (load first, the database last) instead of all
of them dying at once. Stopping signals the whole group, so a service's own children
(PostgreSQL's backends, Locust's greenlets' helpers) go with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from harness.errors import ReadinessTimeout, StackError

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.05


class ManagedProcess:
    """A named child process logging to a file, stoppable as a group."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self.stop_signal = stop_signal
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id once started."""
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        """Start the process; its output goes to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log.debug("starting %s: %s", self.name, " ".join(self.argv))
        with open(self.log_path, "ab") as out:
            try:
                self._popen = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    user=self.user,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StackError(f"cannot start {self.name} ({self.argv[0]}): {exc}") from exc

    def exit_code(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return self._popen.poll() if self._popen else None

    def alive(self) -> bool:
        """True while the process runs."""
        return self._popen is not None and self._popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Signal the group, wait up to ``grace`` seconds, then kill it. Idempotent."""
        if self._popen is None:
            return
        if self._popen.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                self._popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.1fs; killing it", self.name, grace)
        # Kill what is left of the group either way: a service's own children may
        # outlive it for a moment after it exits.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=grace)

    def kill(self) -> None:
        """SIGKILL the whole group at once, as an OOM killer or ``docker kill`` would."""
        if self._popen is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=5)

    def send_signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the whole group (SIGSTOP and SIGCONT pause and resume it)."""
        if self._popen is not None and self._popen.poll() is None:
            self._signal_group(sig)

    def _signal_group(self, sig: signal.Signals) -> None:
        assert self._popen is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def tail(self, lines: int = 20) -> str:
        """The last lines of the process's log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when a GET on ``url`` answers 2xx: the readiness check of an HTTP service."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    process: ManagedProcess | None = None,
) -> float:
    """Poll ``check`` until it is true; return the seconds it took.

    Fails fast if ``process`` exits while waiting, and with ReadinessTimeout at the
    deadline; both messages end with the tail of the process's log.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if check():
            return time.monotonic() - started
        if process is not None and not process.alive():
            raise StackError(
                f"{process.name} exited with code {process.exit_code()} while waiting for "
                f"{what}; last lines of {process.log_path}:\n{process.tail()}"
            )
        if time.monotonic() >= deadline:
            tail = f"; last lines of {process.log_path}:\n{process.tail()}" if process else ""
            raise ReadinessTimeout(f"{what} not ready after {timeout:g}s{tail}")
        time.sleep(POLL_INTERVAL)
