"""bandwidth, slow_close, slicer and limit_data over loopback, and the slicer's sizes."""

from __future__ import annotations

import os
import random
import socket
import time

import pytest

from harness.proxy.toxics.slicer import SlicerToxic
from tests.proxy.conftest import Api, connect, round_trip


def receive_all(sock: socket.socket, size: int) -> tuple[bytes, int]:
    """Read ``size`` bytes; also return how many reads it took."""
    data, reads = b"", 0
    while len(data) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data, reads = data + chunk, reads + 1
    return data, reads


def test_bandwidth_limits_throughput_to_the_rate(api: Api, listen: str) -> None:
    api.add_toxic("p", type="bandwidth", attributes={"rate": 100})  # 100 KB/s
    payload = os.urandom(40_000)
    with connect(listen) as sock:
        echoed, seconds = round_trip(sock, payload)
    assert echoed == payload
    assert 0.3 <= seconds <= 1.5  # 40 KB at 100 KB/s is 0.4 s


def test_bandwidth_of_zero_stalls_the_stream(api: Api, listen: str) -> None:
    api.add_toxic("p", name="stall", type="bandwidth", attributes={"rate": 0})
    with connect(listen) as sock:
        sock.sendall(b"stuck")
        sock.settimeout(0.3)
        with pytest.raises(socket.timeout):
            sock.recv(10)
        api.request("DELETE", "/proxies/p/toxics/stall")  # the held chunk is released
        sock.settimeout(5)
        assert receive_all(sock, 5)[0] == b"stuck"


def test_slow_close_delays_the_close_not_the_data(api: Api, greeter: str) -> None:
    proxy = api.create_proxy("g", greeter)
    api.add_toxic("g", type="slow_close", attributes={"delay": 300})
    with connect(proxy["listen"]) as sock:
        started = time.perf_counter()
        assert receive_all(sock, 3)[0] == b"bye"
        assert time.perf_counter() - started < 0.25
        sock.settimeout(5)
        assert sock.recv(10) == b""
        assert time.perf_counter() - started >= 0.28


def test_slicer_fragments_data_but_delivers_it_intact(api: Api, listen: str) -> None:
    api.add_toxic(
        "p",
        type="slicer",
        attributes={"average_size": 100, "size_variation": 20, "delay": 2000},
    )
    payload = os.urandom(2000)
    with connect(listen) as sock:
        sock.sendall(payload)
        echoed, reads = receive_all(sock, len(payload))
    assert echoed == payload
    assert reads >= 5  # about 16 pieces sent 2 ms apart


def test_slicer_piece_sizes_stay_near_the_average_and_sum_up() -> None:
    toxic = SlicerToxic(average_size=100, size_variation=20, delay=0)
    sizes = toxic.piece_sizes(10_000, random.Random(5))
    assert sum(sizes) == 10_000
    assert all(1 <= size <= 120 for size in sizes)
    degenerate = SlicerToxic().piece_sizes(7, random.Random(5))
    assert degenerate == [1] * 7


def test_limit_data_closes_after_the_budget(api: Api) -> None:
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen()
        proxy = api.create_proxy("l", f"127.0.0.1:{upstream.getsockname()[1]}")
        api.add_toxic("l", type="limit_data", stream="upstream", attributes={"bytes": 10})
        with connect(proxy["listen"]) as sock:
            server_side, _ = upstream.accept()
            with server_side:
                sock.sendall(b"12345")
                assert receive_all(server_side, 5)[0] == b"12345"
                sock.sendall(b"67890abcdef")
                server_side.settimeout(5)
                assert receive_all(server_side, 100)[0] == b"67890"  # then EOF
                sock.settimeout(5)
                assert sock.recv(10) == b""  # the whole connection is closed


def test_limit_data_of_zero_closes_on_the_first_chunk(api: Api, listen: str) -> None:
    api.add_toxic("p", type="limit_data", attributes={"bytes": 0})
    with connect(listen) as sock:
        sock.sendall(b"hello")
        sock.settimeout(5)
        assert receive_all(sock, 5)[0] == b""
