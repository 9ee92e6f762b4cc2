"""Managed child processes: logging, group stop, readiness waits."""

from __future__ import annotations

import logging
import os
import signal
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from harness.backends.processes import ManagedProcess, wait_until
from harness.errors import ReadinessTimeout, StackError

DEADLINE = 10.0


def python(code: str) -> list[str]:
    return [sys.executable, "-u", "-c", textwrap.dedent(code)]


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie waiting for its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def poll(condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def log_has(process: ManagedProcess, text: str) -> Callable[[], bool]:
    return lambda: process.log_path.exists() and text in process.log_path.read_text()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """Start ManagedProcesses that are always stopped at the end of the test."""
    started: list[ManagedProcess] = []

    def make(code: str, name: str = "child", **kwargs: object) -> ManagedProcess:
        log_path = tmp_path / f"{name}.log"
        process = ManagedProcess(name, python(code), log_path, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        process.start()
        return process

    yield make
    for process in started:
        process.stop(grace=1.0)


SLEEPER = """
    import time
    print("ready")
    time.sleep(60)
"""


def test_started_process_runs_and_logs_to_its_file(spawn: Callable[..., ManagedProcess]) -> None:
    process = spawn(SLEEPER)

    poll(log_has(process, "ready"))
    assert process.alive()
    assert process.pid is not None
    assert process.exit_code() is None
    assert os.getpgid(process.pid) == process.pid  # a process group of its own


def test_log_file_is_appended_not_truncated(
    spawn: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    (tmp_path / "child.log").write_text("earlier run\n")

    process = spawn('print("second run")')
    poll(lambda: process.exit_code() is not None)

    assert process.log_path.read_text() == "earlier run\nsecond run\n"


def test_stop_ends_the_process_with_its_stop_signal(spawn: Callable[..., ManagedProcess]) -> None:
    process = spawn(SLEEPER)
    poll(log_has(process, "ready"))

    process.stop(grace=5.0)

    assert not process.alive()
    assert process.exit_code() == -signal.SIGTERM


def test_stop_kills_the_whole_process_group(spawn: Callable[..., ManagedProcess]) -> None:
    process = spawn(
        """
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        print("grandchild", grandchild.pid)
        time.sleep(60)
        """
    )
    poll(log_has(process, "grandchild "))
    grandchild = int(process.log_path.read_text().split()[-1])
    assert process.pid is not None
    child = process.pid
    assert not gone(grandchild)

    process.stop(grace=5.0)

    poll(lambda: gone(child) and gone(grandchild))


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(
    spawn: Callable[..., ManagedProcess], caplog: pytest.LogCaptureFixture
) -> None:
    process = spawn(
        """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready")
        time.sleep(60)
        """,
        name="stubborn",
    )
    poll(log_has(process, "ready"))

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="harness.backends.processes"):
        process.stop(grace=0.5)
    took = time.monotonic() - started

    assert 0.5 <= took < 5.0
    assert process.exit_code() == -signal.SIGKILL
    assert "stubborn did not stop within 0.5s" in caplog.text


def test_stop_is_idempotent(spawn: Callable[..., ManagedProcess]) -> None:
    process = spawn(SLEEPER)
    poll(log_has(process, "ready"))

    process.stop(grace=5.0)
    process.stop(grace=5.0)

    assert process.exit_code() == -signal.SIGTERM


def test_stop_before_start_does_nothing(tmp_path: Path) -> None:
    process = ManagedProcess("idle", python("pass"), tmp_path / "idle.log")

    process.stop()

    assert process.pid is None
    assert not process.alive()
    assert process.exit_code() is None


def test_a_missing_program_is_a_stack_error(tmp_path: Path) -> None:
    process = ManagedProcess("ghost", [str(tmp_path / "no-such-program")], tmp_path / "g.log")

    with pytest.raises(StackError, match="cannot start ghost"):
        process.start()


def test_tail_returns_the_last_lines(spawn: Callable[..., ManagedProcess]) -> None:
    process = spawn("for i in range(50): print('line', i)")
    poll(lambda: process.exit_code() is not None)

    assert process.tail(3) == "line 47\nline 48\nline 49"


def test_wait_until_returns_once_the_check_passes() -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        return len(calls) >= 3

    took = wait_until(check, timeout=DEADLINE, what="the thing")

    assert len(calls) == 3
    assert 0 <= took < DEADLINE


def test_wait_until_fails_fast_when_the_process_dies(
    spawn: Callable[..., ManagedProcess],
) -> None:
    process = spawn(
        """
        import sys
        print("FATAL: cannot bind 127.0.0.1:1")
        sys.exit(3)
        """,
        name="server",
    )

    started = time.monotonic()
    with pytest.raises(StackError) as caught:
        wait_until(lambda: False, timeout=30.0, what="the server's port", process=process)

    assert time.monotonic() - started < DEADLINE
    assert not isinstance(caught.value, ReadinessTimeout)
    message = str(caught.value)
    assert "server exited with code 3 while waiting for the server's port" in message
    assert "FATAL: cannot bind 127.0.0.1:1" in message


def test_wait_until_times_out_at_its_deadline_with_the_log_tail(
    spawn: Callable[..., ManagedProcess],
) -> None:
    process = spawn(SLEEPER, name="slowpoke")
    poll(log_has(process, "ready"))

    started = time.monotonic()
    with pytest.raises(ReadinessTimeout) as caught:
        wait_until(lambda: False, timeout=0.3, what="slowpoke's health", process=process)

    assert 0.3 <= time.monotonic() - started < 3.0
    message = str(caught.value)
    assert message.startswith("slowpoke's health not ready after 0.3s")
    assert "ready" in message.splitlines()[-1]


def test_wait_until_without_a_process_times_out_plainly() -> None:
    with pytest.raises(ReadinessTimeout, match=r"^the API not ready after 0.1s$"):
        wait_until(lambda: False, timeout=0.1, what="the API")
