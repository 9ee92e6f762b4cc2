"""The balancer spreads connections over replicas and skips one that refuses."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from harness.backends.ports import free_port


def echo_server(tag: bytes) -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                if conn.recv(16):
                    conn.sendall(tag)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def ask(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"who")
        return sock.recv(16)


@pytest.fixture
def balancer() -> Iterator[tuple[int, list[socket.socket]]]:
    (a, port_a), (b, port_b) = echo_server(b"A"), echo_server(b"B")
    dead = free_port()  # nothing listens here
    listen = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.backends.balancer",
            "--listen",
            f"127.0.0.1:{listen}",
            "--backend",
            f"127.0.0.1:{port_a}",
            "--backend",
            f"127.0.0.1:{dead}",
            "--backend",
            f"127.0.0.1:{port_b}",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    assert "balancer listening" in process.stderr.readline()
    yield listen, [a, b]
    process.terminate()
    process.wait(timeout=10)
    process.stderr.close()
    a.close()
    b.close()


def test_connections_go_round_robin_skipping_a_replica_that_refuses(balancer) -> None:
    port, _ = balancer
    answers = [ask(port) for _ in range(6)]
    assert set(answers) == {b"A", b"B"}
    assert answers.count(b"A") >= 2 and answers.count(b"B") >= 2


def test_with_one_replica_gone_the_other_takes_every_connection(balancer) -> None:
    port, (a, _) = balancer
    port_a = a.getsockname()[1]
    a.shutdown(socket.SHUT_RDWR)  # wakes the accept loop; new connections are refused
    a.close()
    wait_refused(port_a)
    assert {ask(port) for _ in range(4)} == {b"B"}


def wait_refused(port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.02)
    raise AssertionError(f"port {port} still accepts connections")
