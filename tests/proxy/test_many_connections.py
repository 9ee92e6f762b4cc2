"""1,000 connections open at once through one proxy, each echoing its own bytes."""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Iterator

import pytest

from tests.proxy.conftest import Api

COUNT = 1000
# Each proxied connection holds a descriptor in the client, two in the proxy and one in
# the upstream, all in this process; the rest is headroom for the interpreter.
DESCRIPTORS = 4 * COUNT + 512


class _Echo(asyncio.Protocol):
    """An upstream that echoes, counting how many of its connections are open at once."""

    open_now = 0
    most_open = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        _Echo.open_now += 1
        _Echo.most_open = max(_Echo.most_open, _Echo.open_now)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        _Echo.open_now -= 1


@pytest.fixture
def descriptors() -> Iterator[None]:
    """Raise the soft limit on open files for this test, as the benchmark does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < DESCRIPTORS:
        pytest.skip(f"needs {DESCRIPTORS} open files; the hard limit here is {hard}")
    if soft == resource.RLIM_INFINITY or soft >= DESCRIPTORS:
        yield
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def _open_all(api: Api) -> list[BaseException | None]:
    loop = asyncio.get_running_loop()
    upstream = await loop.create_server(_Echo, "127.0.0.1", 0, backlog=COUNT)
    port = upstream.sockets[0].getsockname()[1]
    listen = api.create_proxy("many", f"127.0.0.1:{port}")["listen"]
    host, proxy_port = listen.rsplit(":", 1)
    all_echoed = asyncio.Event()
    waiting = [COUNT]

    async def one(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(proxy_port))
        try:
            payload = b"%08d" % index * 8
            writer.write(payload)
            assert await reader.readexactly(len(payload)) == payload
            waiting[0] -= 1
            if not waiting[0]:
                all_echoed.set()
            await all_echoed.wait()  # hold every connection open until all have echoed
        finally:
            writer.close()

    try:
        gathered = asyncio.gather(*(one(i) for i in range(COUNT)), return_exceptions=True)
        return await asyncio.wait_for(gathered, timeout=60)
    finally:
        upstream.close()


@pytest.mark.slow
@pytest.mark.usefixtures("descriptors")
def test_a_thousand_concurrent_connections_all_pass(api: Api) -> None:
    _Echo.open_now = _Echo.most_open = 0
    results = asyncio.run(_open_all(api))
    errors = [result for result in results if result is not None]
    assert errors == []
    assert _Echo.most_open == COUNT  # the proxy really held them all at once
