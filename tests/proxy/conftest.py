"""Fixtures for the fault proxy: a server in a background thread, upstreams, raw HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from toxiproxy import Toxiproxy

from harness.proxy import ProxyServerThread

SEED = 1234


@dataclass(frozen=True)
class Reply:
    """One raw HTTP answer, bytes untouched."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, or None when absent."""
        return self.headers.get("Content-Type")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Api:
    """Raw HTTP access to the proxy API, with exact status, headers and body bytes."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request on a fresh connection and read the whole answer."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> Any:
        """Create a proxy and return its JSON (asserting success)."""
        reply = self.request(
            "POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream}
        )
        assert reply.status == 201, reply.body
        return reply.json()

    def add_toxic(self, proxy: str, **toxic: Any) -> Any:
        """Add a toxic and return its JSON (asserting success)."""
        reply = self.request("POST", f"/proxies/{proxy}/toxics", toxic)
        assert reply.status == 200, reply.body
        return reply.json()


@pytest.fixture
def server() -> Iterator[ProxyServerThread]:
    """A fresh fault proxy with its API on a free port."""
    with ProxyServerThread(port=0, seed=SEED) as running:
        yield running


@pytest.fixture
def api(server: ProxyServerThread) -> Api:
    """Raw HTTP access to ``server``."""
    return Api(server.api_port)


@pytest.fixture
def client(server: ProxyServerThread) -> Toxiproxy:
    """The toxiproxy-python client pointed at ``server`` (its host/port are class-level)."""
    toxiproxy = Toxiproxy()
    toxiproxy.update_api_consumer("127.0.0.1", server.api_port)
    return toxiproxy


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@pytest.fixture
def echo_upstream() -> Iterator[str]:
    """A TCP echo server on loopback; yields its ``host:port``."""
    with _Server(("127.0.0.1", 0), _EchoHandler) as echo:
        thread = threading.Thread(target=echo.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        yield f"127.0.0.1:{echo.server_address[1]}"
        echo.shutdown()


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    """Open a client connection to a proxy's ``host:port``."""
    host, port = listen.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> tuple[bytes, float]:
    """Send ``payload`` to an echo upstream through ``sock``; return the echo and seconds."""
    started = time.perf_counter()
    sock.sendall(payload)
    received = b""
    while len(received) < len(payload):
        data = sock.recv(65536)
        if not data:
            break
        received += data
    return received, time.perf_counter() - started


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


@pytest.fixture
def listen(api: Api, echo_upstream: str) -> str:
    """The address of a proxy named ``p`` in front of an echo server."""
    return str(api.create_proxy("p", echo_upstream)["listen"])


@pytest.fixture
def greeter() -> Iterator[str]:
    """An upstream that sends ``bye`` and closes its first connection at once."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(10)

        def serve() -> None:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"bye")

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield f"127.0.0.1:{server.getsockname()[1]}"
        thread.join(timeout=10)
