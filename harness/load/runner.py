"""Runs Locust in a process of its own, bounded in time, and stops it on demand.

Locust monkey-patches its process with gevent, so the harness never imports it: it writes
the `LoadConfig` as JSON into the work folder and starts::

    <python> -m locust -f harness/load/locustfile.py --headless --host <host>
        --only-summary --loglevel INFO --logfile <workdir>/locust.log
        --run-time <sum of stage durations + margin>s --exit-code-on-error 0

in a new session (its own process group, so a stop reaches every child), with stdout and
stderr in ``<workdir>/locust.out``. The locustfile's load shape ends the test after the
last stage; ``--run-time`` is the hard stop should anything hang.

Exit codes. ``--exit-code-on-error 0`` stops Locust from exiting with 1 when requests
failed: failed requests are a result of the experiment, found in the recorder's stats,
not an error of the load generator. So `wait` and `stop` return 0 when Locust ran and
ended; 2 when a listener or greenlet raised an uncaught exception (a bug in the
locustfile); another positive code when Locust could not start (bad option, locustfile
import error such as an invalid config); minus N when it was killed by signal N (``-9``
after `stop` had to use SIGKILL).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from harness.load.config import CONFIG_ENV_VAR, LoadConfig, LoadConfigError, Stage
from harness.load.stats import load_stats

__all__ = [
    "LOCUSTFILE",
    "LOOPBACK_HOSTS",
    "LoadConfig",
    "LoadConfigError",
    "LoadRunner",
    "LoadRunnerError",
    "LoadRunnerTimeout",
    "Stage",
]

logger = logging.getLogger(__name__)

START_POLL_INTERVAL = 0.05

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
"""The locustfile the runner starts."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""The hosts load may be sent to unless the caller allows others."""


class LoadRunnerError(RuntimeError):
    """The Locust process could not be started or managed."""


class LoadRunnerTimeout(LoadRunnerError):
    """`LoadRunner.wait` gave up before Locust exited."""


class LoadRunner:
    """One Locust run: `start`, then `wait` for it to end or `stop` it.

    Use it as a context manager so the process is stopped on every way out::

        with LoadRunner(config, workdir) as load:
            load.start()
            code = load.wait(timeout=config.total_duration + 30)
    """

    def __init__(
        self,
        config: LoadConfig,
        workdir: Path,
        *,
        run_time_margin: float = 10.0,
        allowed_hosts: Collection[str] = LOOPBACK_HOSTS,
    ) -> None:
        host = urlsplit(config.host).hostname
        if host not in allowed_hosts:
            raise LoadRunnerError(
                f"host {config.host!r}: load may only go to {sorted(allowed_hosts)}; "
                "pass allowed_hosts to send it elsewhere"
            )
        self.config = config
        self.workdir = workdir
        self.run_time = math.ceil(config.total_duration + run_time_margin)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        """Where the JSON config for the locustfile is written."""
        return self.workdir / "load-config.json"

    @property
    def log_path(self) -> Path:
        """Locust's log file."""
        return self.workdir / "locust.log"

    @property
    def output_path(self) -> Path:
        """Locust's stdout and stderr (its end-of-run summary, tracebacks)."""
        return self.workdir / "locust.out"

    @property
    def running(self) -> bool:
        """True from `start` until the process has exited."""
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once the process has exited (see the module docstring), else None."""
        return None if self._process is None else self._process.poll()

    def command(self) -> list[str]:
        """The command line `start` runs."""
        return [
            sys.executable, "-m", "locust",
            "-f", str(LOCUSTFILE),
            "--headless",
            "--host", self.config.host,
            "--only-summary",
            "--loglevel", "INFO",
            "--logfile", str(self.log_path),
            "--run-time", f"{self.run_time}s",
            "--exit-code-on-error", "0",
        ]  # fmt: skip

    def start(self) -> None:
        """Write the config, empty the stats file and start Locust; returns at once."""
        if self._process is not None:
            raise LoadRunnerError("this LoadRunner was already started; make a new one")
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self.config.dump(self.config_path)
            self.config.stats_path.parent.mkdir(parents=True, exist_ok=True)
            # The recorder appends: lines of an earlier run must not mix into this one.
            self.config.stats_path.write_text("", encoding="utf-8")
            with self.output_path.open("wb") as output:
                self._process = subprocess.Popen(
                    self.command(),
                    # Not the caller's folder: Locust would read a locust.conf or pyproject.toml.
                    cwd=self.workdir,
                    env=self._environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as exc:
            raise LoadRunnerError(f"cannot start Locust in {self.workdir}: {exc}") from exc
        logger.info(
            "Locust started (pid %d): %s, %.0f s against %s, hard stop after %d s",
            self._process.pid,
            self.config.describe(),
            self.config.total_duration,
            self.config.host,
            self.run_time,
        )

    def wait_started(self, timeout: float) -> float:
        """Wait until Locust has started the test; the wall-clock time it did.

        Raises `LoadRunnerError` if Locust exits first, `LoadRunnerTimeout` at the deadline.
        """
        process = self._started()
        deadline = time.monotonic() + timeout
        while True:
            started = load_stats(self.config.stats_path).started_at
            if started is not None:
                return started
            if process.poll() is not None:
                raise LoadRunnerError(
                    f"Locust exited with code {process.returncode} before the test started; "
                    f"see {self.output_path}"
                )
            if time.monotonic() >= deadline:
                raise LoadRunnerTimeout(f"Locust did not start the test within {timeout:.0f} s")
            time.sleep(START_POLL_INTERVAL)

    def wait(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds for Locust to exit; its exit code.

        Raises `LoadRunnerTimeout` if it is still running then (it keeps running).
        """
        process = self._started()
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise LoadRunnerTimeout(f"Locust still running after {timeout:.0f} s") from exc
        logger.info("Locust exited with code %d", code)
        return code

    def stop(self, grace: float = 5.0) -> int | None:
        """Stop Locust: SIGINT to its process group, SIGKILL after ``grace`` seconds.

        On SIGINT (Ctrl+C) Locust stops its users and the recorder writes what it holds.
        (Plain headless Locust installs its SIGTERM handler only once a shape test has
        ended; our locustfile handles SIGTERM too, but SIGINT works either way.) Returns
        the exit code (None if never started); calling it again returns the same code.
        """
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            logger.info("Stopping Locust (pid %d)", process.pid)
            self._signal_group(process, signal.SIGINT)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                logger.warning("Locust ignored SIGINT for %.0f s; killing it", grace)
                self._signal_group(process, signal.SIGKILL)
                process.wait()
        return process.returncode

    def __enter__(self) -> LoadRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise LoadRunnerError("Locust was not started; call start() first")
        return self._process

    def _environment(self) -> dict[str, str]:
        # LOCUST_* variables of the caller's shell would silently change the run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
        env[CONFIG_ENV_VAR] = str(self.config_path)
        return env

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
        # The leader is not reaped yet (no wait() since poll()), so its group id is still
        # ours; the group may be empty if everything exited in between.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
