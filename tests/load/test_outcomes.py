"""Request outcomes: from status codes and exceptions, fake and real (from geventhttpclient)."""

from __future__ import annotations

import errno
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.load.outcomes import FAILURES, Outcome, classify


class RetriesExceeded(Exception):
    """Shaped like geventhttpclient's wrapper: the cause is in ``original``."""

    def __init__(self, original: BaseException) -> None:
        super().__init__("retries exceeded")
        self.original = original


class HTTPConnectionClosed(Exception):
    """Named like geventhttpclient's error for a connection closed before the answer."""


class Timeout(BaseException):
    """Named like gevent's Timeout, which is not an OSError."""


@pytest.mark.parametrize(
    ("status", "exception", "outcome"),
    [
        (200, None, Outcome.OK),
        (201, None, Outcome.OK),
        (409, None, Outcome.EXPECTED),  # the journey called response.success()
        (409, RuntimeError("409"), Outcome.CLIENT_ERROR),
        (404, RuntimeError("404"), Outcome.CLIENT_ERROR),
        (503, RuntimeError("503"), Outcome.SERVER_ERROR),
        (500, TimeoutError(), Outcome.SERVER_ERROR),  # an answer came: the status decides
        (0, TimeoutError("timed out"), Outcome.TIMEOUT),
        (0, RetriesExceeded(TimeoutError("timed out")), Outcome.TIMEOUT),
        (0, RetriesExceeded(Timeout()), Outcome.TIMEOUT),
        (0, OSError(errno.ETIMEDOUT, "timed out"), Outcome.TIMEOUT),
        (200, TimeoutError("body read"), Outcome.TIMEOUT),
        (0, ConnectionRefusedError(), Outcome.CONNECTION_ERROR),
        (0, ConnectionResetError(), Outcome.CONNECTION_ERROR),
        (0, RetriesExceeded(HTTPConnectionClosed()), Outcome.CONNECTION_ERROR),
        (0, OSError(errno.ECONNREFUSED, "refused"), Outcome.CONNECTION_ERROR),
        (200, ValueError("body is not JSON"), Outcome.OTHER_ERROR),
        (0, RetriesExceeded(ValueError("parse")), Outcome.OTHER_ERROR),
    ],
)
def test_each_request_gets_exactly_one_outcome(
    status: int, exception: BaseException | None, outcome: Outcome
) -> None:
    assert classify(status, exception) is outcome


def test_only_ok_and_expected_do_not_count_as_failures() -> None:
    assert frozenset(Outcome) - FAILURES == {Outcome.OK, Outcome.EXPECTED}
    assert [o.value for o in Outcome] == [
        "ok",
        "expected",
        "client_error",
        "server_error",
        "timeout",
        "connection_error",
        "other_error",
    ]


def _serve(behaviour: str, stop: threading.Event) -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)

    def answer(conn: socket.socket) -> None:
        conn.recv(65536)
        if behaviour == "stall":
            stop.wait(5)
        elif behaviour == "reset":  # SO_LINGER 0: close() sends RST instead of FIN
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif behaviour == "garbage":
            conn.sendall(b"this is not HTTP\r\n\r\n")
        elif behaviour.isdigit():
            conn.sendall(f"HTTP/1.1 {behaviour} X\r\nContent-Length: 0\r\n\r\n".encode())
            conn.recv(65536)  # until the client closes: one request per connection
        conn.close()

    def loop() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return int(listener.getsockname()[1])


@pytest.fixture
def misbehaving_servers() -> Iterator[dict[str, str]]:
    stop = threading.Event()
    behaviours = ("stall", "close", "reset", "garbage", "503", "404", "200")
    urls = {b: f"http://127.0.0.1:{_serve(b, stop)}/x" for b in behaviours}
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        urls["refused"] = f"http://127.0.0.1:{unused.getsockname()[1]}/x"
        yield urls
    stop.set()


def test_real_client_errors_from_locust_are_classified(misbehaving_servers: dict[str, str]) -> None:
    probe = Path(__file__).with_name("real_errors_probe.py")
    targets = [f"{name}={url}" for name, url in misbehaving_servers.items()]
    targets.append(f"post_stall={misbehaving_servers['stall']}")  # POSTs take another path
    started = time.monotonic()

    done = subprocess.run(
        [sys.executable, str(probe), *targets], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "stall": "timeout",
        "close": "connection_error",
        "reset": "connection_error",
        "garbage": "other_error",
        "503": "server_error",
        "404": "client_error",
        "200": "ok",
        "refused": "connection_error",
        "post_stall": "timeout",
    }
    assert time.monotonic() - started < 30
