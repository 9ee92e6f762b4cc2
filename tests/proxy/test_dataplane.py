"""The data plane: toxics over real loopback sockets, timed within generous tolerances."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator

import pytest

from harness.proxy import ProxyServerThread
from harness.proxy.server import new_event_loop
from tests.proxy.conftest import SEED, Api, connect, free_port, round_trip, wait_until


@pytest.fixture(params=["default-loop", "asyncio-loop"])
def server(request: pytest.FixtureRequest) -> Iterator[ProxyServerThread]:
    """The proxy on uvloop (when installed) and on asyncio's own loop."""
    factory = new_event_loop if request.param == "default-loop" else asyncio.new_event_loop
    with ProxyServerThread(port=0, seed=SEED, loop_factory=factory) as running:
        yield running


@pytest.fixture
def listen(api: Api, echo_upstream: str) -> str:
    """The address of a proxy named ``p`` in front of an echo server."""
    return str(api.create_proxy("p", echo_upstream)["listen"])


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Read until EOF; fail if the connection is still open after ``timeout``."""
    sock.settimeout(timeout)
    received = b""
    while data := sock.recv(65536):
        received += data
    return received


def test_without_toxics_bytes_pass_intact(listen: str) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    with connect(listen) as sock:
        echoed, _seconds = round_trip(sock, payload)
    assert echoed == payload


def test_latency_toxic_delays_each_response(api: Api, listen: str) -> None:
    api.add_toxic("p", type="latency", attributes={"latency": 100})
    with connect(listen) as sock:
        echoed, seconds = round_trip(sock)
    assert echoed == b"ping"
    assert 0.09 <= seconds <= 0.25


def test_latency_on_both_streams_adds_up(api: Api, listen: str) -> None:
    api.add_toxic("p", type="latency", stream="upstream", attributes={"latency": 100})
    api.add_toxic("p", type="latency", stream="downstream", attributes={"latency": 100})
    with connect(listen) as sock:
        _echoed, seconds = round_trip(sock)
    assert 0.19 <= seconds <= 0.4


def test_latency_is_not_cumulative_for_pipelined_chunks(api: Api, listen: str) -> None:
    api.add_toxic("p", type="latency", stream="upstream", attributes={"latency": 100})
    with connect(listen) as sock:
        started = time.perf_counter()
        for index in range(5):
            sock.sendall(b"%d" % index)
            time.sleep(0.01)  # separate chunks on the wire, deliberately spaced
        received = b""
        while len(received) < 5:
            received += sock.recv(100)
        elapsed = time.perf_counter() - started
    assert received == b"01234"
    assert 0.1 <= elapsed <= 0.3  # five chunks, one delay: not 5 x 100 ms


def test_new_toxic_applies_to_an_open_connection(api: Api, listen: str) -> None:
    with connect(listen) as sock:
        assert round_trip(sock)[1] < 0.09
        api.add_toxic("p", name="slow", type="latency", attributes={"latency": 100})
        assert 0.09 <= round_trip(sock)[1] <= 0.25
        api.request("DELETE", "/proxies/p/toxics/slow")
        assert round_trip(sock)[1] < 0.09


def test_timeout_toxic_drops_data_and_closes_after_its_delay(api: Api, listen: str) -> None:
    with connect(listen) as sock:
        api.add_toxic("p", type="timeout", attributes={"timeout": 200})
        started = time.perf_counter()
        sock.sendall(b"swallowed")
        assert read_until_closed(sock) == b""
        assert 0.15 <= time.perf_counter() - started <= 1.5


def test_removing_a_zero_timeout_toxic_closes_the_held_connection(api: Api, listen: str) -> None:
    api.add_toxic("p", name="hold", type="timeout", attributes={"timeout": 0})
    with connect(listen) as sock:
        sock.sendall(b"held")
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(10)
        api.request("DELETE", "/proxies/p/toxics/hold")
        assert read_until_closed(sock) == b""


def test_reset_peer_present_at_setup_resets_the_client(api: Api, listen: str) -> None:
    api.add_toxic("p", type="reset_peer", attributes={"timeout": 50})
    with connect(listen) as sock:
        sock.sendall(b"trigger")
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)


def test_reset_peer_added_to_an_open_connection_closes_it_normally(api: Api, listen: str) -> None:
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"  # the proxy has set the connection up
        api.add_toxic("p", type="reset_peer", attributes={"timeout": 50})
        sock.sendall(b"trigger")
        assert read_until_closed(sock) == b""


def test_disabling_refuses_new_connections_and_closes_open_ones(api: Api, listen: str) -> None:
    with connect(listen) as sock:
        api.request("PATCH", "/proxies/p", {"enabled": False})
        assert read_until_closed(sock) == b""
    with pytest.raises(ConnectionRefusedError):
        connect(listen).close()
    api.request("PATCH", "/proxies/p", {"enabled": True})
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"


def test_deleting_a_proxy_closes_its_connections(api: Api, listen: str) -> None:
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"
        api.request("DELETE", "/proxies/p")
        assert read_until_closed(sock) == b""


def test_unreachable_upstream_closes_the_client_at_once(api: Api) -> None:
    proxy = api.create_proxy("dead", f"127.0.0.1:{free_port()}")
    with connect(proxy["listen"]) as sock:
        assert read_until_closed(sock, timeout=2.0) == b""


def test_client_close_closes_the_upstream_side(api: Api, echo_upstream: str) -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        proxy = api.create_proxy("c", f"127.0.0.1:{upstream.getsockname()[1]}")
        client = connect(proxy["listen"])
        server_side, _ = upstream.accept()
        with server_side:
            client.close()
            assert read_until_closed(server_side) == b""


def test_zero_toxicity_never_applies_the_toxic(api: Api, listen: str) -> None:
    api.add_toxic("p", type="timeout", toxicity=0, attributes={"timeout": 1})
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"


def test_seed_makes_toxicity_rolls_reproducible(echo_upstream: str) -> None:
    def affected_connections() -> list[bool]:
        with ProxyServerThread(port=0, seed=99) as server:
            api = Api(server.api_port)
            listen = api.create_proxy("s", echo_upstream)["listen"]
            api.add_toxic("s", type="latency", toxicity=0.5, attributes={"latency": 150})
            results = []
            for _ in range(8):
                with connect(listen) as sock:
                    results.append(round_trip(sock)[1] > 0.1)
            return results

    first = affected_connections()
    assert first == affected_connections()
    assert any(first) and not all(first)


def test_connections_are_forgotten_once_closed(
    server: ProxyServerThread, api: Api, listen: str
) -> None:
    proxy = server.server.collection.get("p")
    with connect(listen) as sock:
        round_trip(sock)
        assert len(proxy.connections) == 1
    wait_until(lambda: not proxy.connections)


def test_updating_toxicity_rerolls_on_open_connections(api: Api, listen: str) -> None:
    api.add_toxic("p", name="slow", type="latency", toxicity=0, attributes={"latency": 100})
    with connect(listen) as sock:
        assert round_trip(sock)[1] < 0.09
        api.request("PATCH", "/proxies/p/toxics/slow", {"toxicity": 1})
        assert 0.09 <= round_trip(sock)[1] <= 0.25
        api.request("PATCH", "/proxies/p/toxics/slow", {"toxicity": 0})
        assert round_trip(sock)[1] < 0.09


def test_upstream_given_as_localhost_is_dialled(api: Api, echo_upstream: str) -> None:
    port = echo_upstream.rsplit(":", 1)[1]
    proxy = api.create_proxy("named", f"localhost:{port}")
    with connect(proxy["listen"]) as sock:
        assert round_trip(sock)[0] == b"ping"


def test_both_sockets_of_a_connection_have_nagle_off(
    server: ProxyServerThread, api: Api, listen: str
) -> None:
    proxy = server.server.collection.get("p")
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"  # both sockets exist now
        (connection,) = proxy.connections
        for side in (connection.client, connection.upstream):
            assert side is not None and side.transport is not None
            raw = side.transport.get_extra_info("socket")
            assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, side.role


def test_toxics_on_one_stream_at_setup_are_chained(api: Api, listen: str) -> None:
    api.add_toxic("p", name="first", type="latency", attributes={"latency": 100})
    api.add_toxic("p", name="second", type="latency", attributes={"latency": 100})
    with connect(listen) as sock:  # opened after both exist: each chunk meets both
        echoed, seconds = round_trip(sock)
    assert echoed == b"ping"
    assert 0.19 <= seconds <= 0.5
