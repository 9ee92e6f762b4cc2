"""``python -m harness.proxy``: start-up line, config file, clean stop on signals."""

from __future__ import annotations

import argparse
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

from harness.proxy.cli import add_arguments, build_parser, main
from tests.proxy.conftest import Api, connect, round_trip

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


def first_stderr_line(process: subprocess.Popen[bytes], timeout: float = 15.0) -> str:
    """The first line the server logs, read with a deadline."""
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], timeout)
    assert ready, "the proxy logged nothing in time"
    return process.stderr.readline().decode()


PROXY_MODULE = [sys.executable, "-m", "harness.proxy"]
HARNESS_SERVE = [sys.executable, "-m", "harness", "proxy", "serve"]


def start(command: list[str], tmp_path: Path, echo_upstream: str) -> subprocess.Popen[bytes]:
    """``command`` on a free API port, with one proxy from a config file."""
    config = tmp_path / "proxies.json"
    config.write_text(
        json.dumps([{"name": "echo", "listen": "127.0.0.1:0", "upstream": echo_upstream}])
    )
    arguments = ["--host", "127.0.0.1", "--port", "0", "--config", str(config)]
    return subprocess.Popen([*command, *arguments], stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` if it still runs, and reap it."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=10)
    assert process.stderr is not None
    process.stderr.close()


@pytest.fixture
def serve(tmp_path: Path, echo_upstream: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m harness.proxy`` on a free API port, with one proxy from a config file."""
    process = start(PROXY_MODULE, tmp_path, echo_upstream)
    yield process
    finish(process)


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


def test_harness_proxy_serve_is_the_same_server(tmp_path: Path, echo_upstream: str) -> None:
    process = start(HARNESS_SERVE, tmp_path, echo_upstream)
    try:
        match = LISTENING.search(first_stderr_line(process))
        assert match, "the first log line names the API address"
        proxy = Api(int(match.group(1))).request("GET", "/proxies/echo").json()
        with connect(proxy["listen"]) as sock:
            assert round_trip(sock)[0] == b"ping"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        finish(process)


def test_the_api_listens_on_loopback_8474_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.config, args.seed) == ("127.0.0.1", 8474, None, None)
    assert args.log_level == "info"


def test_toxiproxy_server_flags_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARN")
    args = build_parser().parse_args(
        ["-host", "::1", "-port", "0", "-config", "p.json", "-seed", "7", "-proxy-metrics",
         "-runtime-metrics"]
    )  # fmt: skip
    assert (args.host, args.port, args.config, args.seed) == ("::1", 0, "p.json", 7)
    assert args.log_level == "warn"


def test_another_command_can_embed_the_server_options() -> None:
    parser = argparse.ArgumentParser(prog="harness")
    serve = parser.add_subparsers(dest="command").add_parser("serve")
    add_arguments(serve)
    args = parser.parse_args(["serve", "--host", "127.0.0.1", "--port", "0", "--seed", "3"])
    assert (args.command, args.host, args.port, args.seed) == ("serve", "127.0.0.1", 0, 3)
