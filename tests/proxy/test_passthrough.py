"""Stages that forward unchanged (noop, or a failed toxicity roll) skip their queue.

The shortcut must not change what clients see: bytes stay intact and in order when the
destination pushes back, the end of the stream still closes the connection, and a
chain rewired around such a stage takes effect at once.
"""

from __future__ import annotations

import os

from tests.proxy.conftest import Api, connect, round_trip


def add_idle_stages(api: Api, proxy: str) -> None:
    """A noop and a never-rolled latency toxic on both streams."""
    for stream in ("upstream", "downstream"):
        api.add_toxic(proxy, name=f"noop_{stream}", type="noop", stream=stream)
        api.add_toxic(
            proxy,
            name=f"never_{stream}",
            type="latency",
            stream=stream,
            toxicity=0,
            attributes={"latency": 1000},
        )


def test_bytes_pass_intact_and_in_order_when_the_reader_lags(api: Api, listen: str) -> None:
    add_idle_stages(api, "p")
    payload = os.urandom(4 * 1024 * 1024)  # more than the sockets buffer: the sinks block
    with connect(listen, timeout=20) as sock:
        echoed, _seconds = round_trip(sock, payload)
    assert echoed == payload


def test_the_end_of_the_stream_still_closes_the_connection(api: Api, greeter: str) -> None:
    proxy = api.create_proxy("g", greeter)
    add_idle_stages(api, "g")
    with connect(proxy["listen"]) as sock:
        sock.settimeout(5)
        received = b""
        while data := sock.recv(100):
            received += data
    assert received == b"bye"


def test_a_toxic_added_behind_an_idle_stage_applies_at_once(api: Api, listen: str) -> None:
    api.add_toxic("p", name="first", type="noop")
    with connect(listen) as sock:
        assert round_trip(sock)[1] < 0.09
        api.add_toxic("p", name="slow", type="latency", attributes={"latency": 100})
        assert 0.09 <= round_trip(sock)[1] <= 0.5
        api.request("DELETE", "/proxies/p/toxics/slow")
        assert round_trip(sock)[1] < 0.09


def test_removing_an_idle_stage_keeps_the_rest_of_the_chain(api: Api, listen: str) -> None:
    api.add_toxic("p", name="first", type="noop")
    api.add_toxic("p", name="middle", type="noop")
    api.add_toxic("p", name="slow", type="latency", attributes={"latency": 100})
    with connect(listen) as sock:
        api.request("DELETE", "/proxies/p/toxics/middle")
        assert 0.09 <= round_trip(sock)[1] <= 0.5
        api.request("DELETE", "/proxies/p/toxics/first")
        assert 0.09 <= round_trip(sock)[1] <= 0.5
