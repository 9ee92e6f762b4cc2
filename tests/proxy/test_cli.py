"""``python -m harness.proxy``: start-up line, config file, clean stop on signals."""

from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.proxy.cli import main
from tests.proxy.conftest import Api, connect, round_trip

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def first_stderr_line(process: subprocess.Popen[bytes], timeout: float = 15.0) -> str:
    """The first line the server logs, read with a deadline."""
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], timeout)
    assert ready, "the proxy logged nothing in time"
    return process.stderr.readline().decode()


@pytest.fixture
def serve(tmp_path: Path, echo_upstream: str) -> Iterator[subprocess.Popen[bytes]]:
    """The CLI on a free API port, with one proxy from a config file."""
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps([{"name": "echo", "listen": "127.0.0.1:0", "upstream": echo_upstream}])
    )
    command = [sys.executable, "-m", "harness.proxy", "--port", "0", "--config", str(config)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    assert process.stderr is not None
    process.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_logs_its_port_first_serves_the_config_and_stops_on_signal(
    serve: subprocess.Popen[bytes], signum: int
) -> None:
    match = LISTENING.search(first_stderr_line(serve))
    assert match, "the first log line names the API address"
    api = Api(int(match.group(1)))
    proxy = api.request("GET", "/proxies/echo").json()
    with connect(proxy["listen"]) as sock:
        assert round_trip(sock)[0] == b"ping"
        started = time.monotonic()
        serve.send_signal(signum)
        assert serve.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
        sock.settimeout(5)
        assert sock.recv(10) == b""  # the open connection was closed


def test_cli_fails_with_status_1_on_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text('[{"name": "x"}]')
    result = subprocess.run(
        [sys.executable, "-m", "harness.proxy", "--port", "0", "--config", str(config)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "missing required field: upstream at proxy 1" in result.stderr.decode()
    assert str(config) in result.stderr.decode()


def test_main_prints_the_version_and_returns_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "toxiproxy-server version 2.12.0" in capsys.readouterr().out


def test_main_rejects_an_unknown_option_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err
