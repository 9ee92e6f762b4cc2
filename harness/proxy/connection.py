"""One proxied TCP connection: the client socket, the upstream socket, two links.

::

    client --(upstream link: client->server toxics)--> proxy --> upstream server
    client <--(downstream link: server->client toxics)-- proxy <-- upstream server

As in Toxiproxy, the upstream is dialled once per accepted client (a failed dial
closes the client at once), nothing is read from the client until the upstream is
connected, and when either link's output ends the *whole* connection closes: the
destination socket is closed (not half-closed) and the link reading from it ends too,
after delivering what its toxics still hold. If a ``reset_peer`` toxic exists when the
connection is set up, both sockets get ``SO_LINGER`` 0 so every close is a reset. Both
sockets have Nagle's algorithm off (``TCP_NODELAY``), as Go sets it on every TCP socket.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import TYPE_CHECKING, cast

from harness.proxy.link import Link, Sink
from harness.proxy.metrics import LinkLabels
from harness.proxy.netaddr import AddrError, dial_target

if TYPE_CHECKING:
    from harness.proxy.proxy import Proxy

__all__ = ["Connection"]

logger = logging.getLogger(__name__)

_LINGER_ZERO = struct.pack("ii", 1, 0)


class _Socket(asyncio.Protocol):
    """One socket of a connection: it feeds the link reading it and drains a sink."""

    def __init__(self, connection: Connection, role: str) -> None:
        self.connection = connection
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.reader: Link | None = None
        self.sink: Sink | None = None
        self.lost = False
        # Bytes (and EOF) read before the links exist: uvloop may deliver data even
        # though reading was paused in connection_made.
        self._early: list[bytes] = []
        self._early_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        _set_nodelay(self.transport)
        self.connection.socket_made(self)

    def data_received(self, data: bytes) -> None:
        if self.reader is not None:
            self.reader.feed(data)
        else:
            self._early.append(data)

    def eof_received(self) -> bool:
        if self.reader is not None:
            self.reader.feed_eof()
        else:
            self._early_eof = True
        return True  # keep the socket open for writing until the other link ends

    def attach_reader(self, link: Link) -> None:
        """Start feeding ``link``, first with anything read before it existed."""
        self.reader = link
        early, self._early = self._early, []
        for data in early:
            link.feed(data)
        if self._early_eof:
            link.feed_eof()

    def pause_writing(self) -> None:
        if self.sink is not None:
            self.sink.pause()

    def resume_writing(self) -> None:
        if self.sink is not None:
            self.sink.resume()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.connection.socket_lost(self, exc)


class Connection:
    """A client connection accepted by a proxy, and its upstream counterpart."""

    def __init__(self, proxy: Proxy) -> None:
        self._proxy = proxy
        self.client = _Socket(self, "client")
        self.upstream: _Socket | None = None
        self._links: list[Link] = []
        self._dial_task: asyncio.Task[None] | None = None
        self._aborted = False
        self._finished = False
        self._resets = False  # SO_LINGER 0 is set: closes are resets

    # ---------------------------------------------------------------- set-up

    def socket_made(self, sock: _Socket) -> None:
        """A socket is connected; for the client, start dialling the upstream."""
        if sock is not self.client:
            return
        transport = self.client.transport
        assert transport is not None
        transport.pause_reading()
        # uvloop ignores a pause inside connection_made; pausing again right after works.
        asyncio.get_running_loop().call_soon(self._hold_client, transport)
        self._proxy.connections.add(self)
        peer = transport.get_extra_info("peername")
        logger.debug("proxy %s: accepted client %s", self._proxy.name, peer)
        self._dial_task = asyncio.get_running_loop().create_task(self._dial())
        self._dial_task.add_done_callback(lambda _task: self._maybe_finish())

    def _hold_client(self, transport: asyncio.Transport) -> None:
        if self.client.reader is None and not self.client.lost:
            transport.pause_reading()

    async def _dial(self) -> None:
        loop = asyncio.get_running_loop()
        upstream = _Socket(self, "upstream")
        try:
            host, port = await dial_target(self._proxy.upstream)
            await loop.create_connection(lambda: upstream, host, port)
        except (OSError, AddrError) as exc:
            logger.warning(
                "proxy %s: cannot connect to upstream %s (%s); closing the client",
                self._proxy.name,
                self._proxy.upstream,
                exc,
            )
            self._close_client()
            return
        self.upstream = upstream
        if self._aborted or self.client.lost:
            _abort(upstream)
            self._maybe_finish()
            return
        self._start_links(upstream)
        assert self.client.transport is not None
        self.client.transport.resume_reading()

    def _start_links(self, upstream: _Socket) -> None:
        proxy, client = self._proxy, self.client
        assert client.transport is not None and upstream.transport is not None
        if proxy.toxics.has_resetting_toxic():
            _set_linger_zero(client.transport)
            _set_linger_zero(upstream.transport)
            self._resets = True
        up = self._make_link("upstream", client, upstream)
        down = self._make_link("downstream", upstream, client)
        for link in (up, down):
            link.start(proxy.toxics.chain(link.direction))
            proxy.toxics.attach(link)
        client.attach_reader(up)
        upstream.attach_reader(down)

    def _make_link(self, direction: str, source: _Socket, dest: _Socket) -> Link:
        proxy = self._proxy
        labels = LinkLabels(direction, proxy.name, proxy.listen, proxy.upstream)
        metrics = proxy.runtime.metrics
        assert source.transport is not None and dest.transport is not None
        sink = Sink(dest.transport, metrics.counter("sent", labels))
        sink.on_eof = lambda: self._close_socket(dest)
        link = Link(
            direction,
            source.transport,
            sink,
            metrics.counter("received", labels),
            proxy.runtime.rng,
        )
        dest.sink = sink
        self._links.append(link)
        return link

    # ---------------------------------------------------------------- tear-down

    def _close_socket(self, sock: _Socket) -> None:
        """A link's output ended: close its destination and stop reading from it."""
        if sock.transport is not None and not sock.lost:
            if self._resets:
                sock.transport.abort()  # RST now, unsent data dropped, as Go's Close does
            else:
                sock.transport.close()  # FIN once what is already written is sent
        if sock.reader is not None:
            sock.reader.feed_eof()

    def _close_client(self) -> None:
        if self.client.transport is not None and not self.client.lost:
            self.client.transport.close()

    def socket_lost(self, sock: _Socket, exc: Exception | None) -> None:
        """A socket is closed (by us or by the peer)."""
        if exc is not None:
            logger.debug("proxy %s: %s socket lost: %s", self._proxy.name, sock.role, exc)
        if sock.sink is not None:
            sock.sink.lost()
        if sock.reader is not None:
            sock.reader.feed_eof()
        if sock is self.client and self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        self._maybe_finish()

    def abort(self) -> None:
        """Close both sockets now (the proxy is stopping)."""
        self._aborted = True
        if self._dial_task is not None and not self._dial_task.done():
            self._dial_task.cancel()
        for sock in (self.client, self.upstream):
            if sock is not None:
                _abort(sock)
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        upstream_done = self.upstream is None or self.upstream.lost
        dialling = self._dial_task is not None and not self._dial_task.done()
        if self._finished or not self.client.lost or not upstream_done or dialling:
            return
        self._finished = True
        for link in self._links:
            link.close()
            self._proxy.toxics.detach(link)
        self._proxy.connections.discard(self)
        logger.debug("proxy %s: connection finished", self._proxy.name)


def _abort(sock: _Socket) -> None:
    if sock.transport is not None and not sock.lost:
        sock.transport.abort()


def _set_nodelay(transport: asyncio.Transport) -> None:
    # Go (so Toxiproxy) turns Nagle off on every TCP socket; so does uvloop, but asyncio's
    # own loop skips accepted sockets (their ``proto`` is 0), and with Nagle on, a reply
    # written in two pieces waits for the client's delayed ACK (up to 40 ms).
    raw = transport.get_extra_info("socket")
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as exc:  # gone already, or not a TCP socket
        logger.debug("cannot set TCP_NODELAY: %s", exc)


def _set_linger_zero(transport: asyncio.Transport) -> None:
    raw = transport.get_extra_info("socket")
    try:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    except OSError as exc:  # the peer may already be gone; the close will then be a FIN
        logger.debug("cannot set SO_LINGER 0: %s", exc)
