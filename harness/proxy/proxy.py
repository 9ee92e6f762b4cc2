"""A proxy: a listening address in front of one upstream, its toxics, its connections.

Lifecycle, as in Toxiproxy: *start* binds ``listen`` and replaces it with the bound
address (``localhost:0`` becomes ``127.0.0.1:40123``); *stop* closes the listener and
every open connection (both sockets) and keeps the toxics; a disabled proxy refuses
connections because nothing listens. ``enabled`` always reports whether it is running.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from harness.proxy.connection import Connection
from harness.proxy.errors import internal
from harness.proxy.metrics import ProxyMetrics
from harness.proxy.netaddr import bind_listener, resolve_tcp_addr
from harness.proxy.payloads import ProxyUpdate
from harness.proxy.toxicset import ToxicSet

__all__ = ["Proxy", "ProxyRuntime"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProxyRuntime:
    """What every proxy of a server shares: the random source and the byte counters."""

    rng: random.Random
    metrics: ProxyMetrics


class Proxy:
    """One named proxy (Toxiproxy's ``Proxy``)."""

    def __init__(self, runtime: ProxyRuntime, name: str, listen: str, upstream: str) -> None:
        self.runtime = runtime
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics = ToxicSet(name)
        self.connections: set[Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    def to_json(self) -> dict[str, Any]:
        """The API form, in Toxiproxy's key order (``Logger`` is always ``{}`` there)."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "Logger": {},
            "toxics": [entry.to_json() for entry in self.toxics.entries()],
        }

    def current(self) -> ProxyUpdate:
        """The values an update body is applied over."""
        return ProxyUpdate(listen=self.listen, upstream=self.upstream, enabled=self.enabled)

    async def start(self) -> None:
        """Bind ``listen`` and accept clients; an API error (500) if binding fails."""
        if self.enabled:
            return
        sock, bound = await bind_listener(self.listen)
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(lambda: Connection(self).client, sock=sock)
        except OSError as exc:
            sock.close()
            raise internal(f"listen tcp {bound}: {exc}") from exc
        self.listen = bound
        self.enabled = True
        logger.info("proxy %s: accepting on %s for upstream %s", self.name, bound, self.upstream)

    def stop(self) -> None:
        """Close the listener and every open connection; keep the toxics."""
        if not self.enabled:
            return
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        logger.info("proxy %s: stopped accepting on %s", self.name, self.listen)

    async def update(self, change: ProxyUpdate) -> None:
        """Apply an update the way Toxiproxy does.

        A listen address that resolves differently, or another upstream, restarts the
        proxy on the new values (dropping its connections); then ``enabled`` starts or
        stops it. A failed start leaves the new listen stored and the proxy disabled.
        """
        resolved = await resolve_tcp_addr(change.listen)
        if resolved != self.listen or change.upstream != self.upstream:
            self.stop()
            self.listen = change.listen
            self.upstream = change.upstream
        if change.enabled != self.enabled:
            if change.enabled:
                await self.start()
            else:
                self.stop()

    def listens_as(self, resolved_listen: str, upstream: str) -> bool:
        """Whether populate may keep this proxy as it is (same address and upstream)."""
        return self.listen == resolved_listen and self.upstream == upstream
