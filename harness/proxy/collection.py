"""All proxies of a server by name: create, delete, populate, reset.

The semantics are Toxiproxy 2.12's (see ``/populate`` and ``/reset`` in the API
reference): populate keeps a proxy whose resolved listen address and upstream are
unchanged (toxics, connections and even its disabled state untouched) and otherwise
replaces it; it stops at the first failure, keeping what it already created. Reset
starts every proxy and removes every toxic, stopping at the first proxy that cannot
start.
"""

from __future__ import annotations

import asyncio
import logging

from harness.proxy.errors import ApiError, proxy_already_exists, proxy_not_found
from harness.proxy.netaddr import resolve_tcp_addr
from harness.proxy.payloads import ProxySpec
from harness.proxy.proxy import Proxy, ProxyRuntime

__all__ = ["PopulateError", "ProxyCollection"]

logger = logging.getLogger(__name__)


class PopulateError(ApiError):
    """A populate that failed part-way; ``proxies`` are the ones handled before it."""

    def __init__(self, error: ApiError, proxies: list[Proxy]) -> None:
        super().__init__(error.message, error.status)
        self.proxies = proxies


class ProxyCollection:
    """The proxies of one server."""

    def __init__(self, runtime: ProxyRuntime) -> None:
        self.runtime = runtime
        #: Held by every API handler that changes proxies or toxics, one change at a time.
        self.lock = asyncio.Lock()
        self._proxies: dict[str, Proxy] = {}

    def sorted(self) -> list[Proxy]:
        """Every proxy, by name (the order Go prints a map in)."""
        return [self._proxies[name] for name in sorted(self._proxies)]

    def get(self, name: str) -> Proxy:
        """The proxy called ``name``; ``proxy not found`` (404) otherwise."""
        proxy = self._proxies.get(name)
        if proxy is None:
            raise proxy_not_found()
        return proxy

    async def create(self, spec: ProxySpec) -> Proxy:
        """Add a proxy, started if ``spec.enabled``; nothing is added if it cannot bind."""
        if spec.name in self._proxies:
            raise proxy_already_exists()
        proxy = Proxy(self.runtime, spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        logger.info("proxy %s created (upstream %s)", spec.name, spec.upstream)
        return proxy

    def delete(self, name: str) -> None:
        """Stop a proxy (closing its connections) and forget it."""
        proxy = self.get(name)
        proxy.stop()
        del self._proxies[name]
        logger.info("proxy %s deleted", name)

    async def populate(self, specs: list[ProxySpec]) -> list[Proxy]:
        """Create or replace proxies in order; raise :class:`PopulateError` on failure."""
        handled: list[Proxy] = []
        for spec in specs:
            try:
                handled.append(await self._add_or_replace(spec))
            except ApiError as exc:
                raise PopulateError(exc, handled) from exc
        return handled

    async def _add_or_replace(self, spec: ProxySpec) -> Proxy:
        existing = self._proxies.get(spec.name)
        if existing is not None:
            if existing.listens_as(await resolve_tcp_addr(spec.listen), spec.upstream):
                return existing
            existing.stop()
        proxy = Proxy(self.runtime, spec.name, spec.listen, spec.upstream)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def reset(self) -> None:
        """Start every proxy and remove all toxics (``POST /reset``)."""
        for proxy in list(self._proxies.values()):
            await proxy.start()
            proxy.toxics.clear()

    def stop_all(self) -> None:
        """Stop every proxy (server shutdown)."""
        for proxy in self._proxies.values():
            proxy.stop()
