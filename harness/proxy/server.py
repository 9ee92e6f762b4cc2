"""The embedded fault proxy as a whole: the HTTP API and the proxies, on one event loop.

:class:`ProxyServer` is the asyncio form (``await start()``, ``await stop()``);
:class:`ProxyServerThread` runs one in a background thread with its own event loop,
for synchronous callers and tests. Both bind the API to ``host:port`` (port 0 picks a
free port, read back from ``api_port``) and can populate proxies from a config file
(a JSON array with ``POST /populate`` semantics).

``seed`` makes the random choices reproducible (toxicity rolls, latency jitter, slicer
sizes): they all come from one ``random.Random(seed)`` per server, so the same seed and
the same sequence of connections and chunks give the same choices. (Toxiproxy's own
``-seed`` has no effect since Go 1.20 seeds its global source itself.)
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aiohttp import web

from harness.proxy.api import HANDLER_TIMEOUT_S, build_app
from harness.proxy.collection import ProxyCollection
from harness.proxy.errors import ApiError, ProxyError
from harness.proxy.metrics import ProxyMetrics
from harness.proxy.payloads import parse_populate
from harness.proxy.proxy import ProxyRuntime

__all__ = ["ConfigError", "ProxyServer", "ProxyServerThread", "new_event_loop"]

logger = logging.getLogger(__name__)

_THREAD_START_TIMEOUT_S = 30.0


class ConfigError(ProxyError):
    """The config file cannot be read or applied; the message names the file."""


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when it is installed (faster copies), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class ProxyServer:
    """A Toxiproxy-compatible server running on the current event loop.

    ``handler_timeout`` is how long an API call may run before it is answered with
    Go's 503 ``Timeout`` page (Toxiproxy's 25 s; tests shorten it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8474,
        *,
        seed: int | None = None,
        config: str | Path | None = None,
        handler_timeout: float = HANDLER_TIMEOUT_S,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.config = Path(config) if config is not None else None
        self.handler_timeout = handler_timeout
        self.collection = ProxyCollection(ProxyRuntime(random.Random(seed), ProxyMetrics()))
        self._runner: web.AppRunner | None = None
        self._api_port: int | None = None

    @property
    def api_port(self) -> int:
        """The port the API listens on (the real one when started with port 0)."""
        if self._api_port is None:
            raise RuntimeError("the proxy server is not started")
        return self._api_port

    @property
    def url(self) -> str:
        """The API's base URL, e.g. ``http://127.0.0.1:8474``."""
        return f"http://{self.host}:{self.api_port}"

    async def start(self) -> None:
        """Bind the API port, populate from the config file (if any), then serve.

        The API socket is bound first, so the port is known (and logged as
        ``listening on HOST:PORT``) before anything else, and clients that connect
        while the config is applied simply wait for their answer. Raises
        :class:`ConfigError` for a bad config file and :class:`OSError` if the API port
        cannot be bound; nothing is left running in either case.
        """
        sock = _bind_api(self.host, self.port)
        self._api_port = int(sock.getsockname()[1])
        logger.info("listening on %s:%d", self.host, self._api_port)
        # Go's http.Server closes idle keep-alive connections after 60 s.
        runner = web.AppRunner(
            build_app(self.collection, handler_timeout=self.handler_timeout),
            access_log=None,
            handle_signals=False,
            keepalive_timeout=60.0,
        )
        try:
            if self.config is not None:
                await self._populate_from(self.config)
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            self.collection.stop_all()
            self._api_port = None
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop the API and every proxy, closing all connections."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self.collection.stop_all()
        # Let the aborted transports deliver connection_lost before the loop goes away.
        await asyncio.sleep(0)
        logger.info("stopped")

    async def __aenter__(self) -> ProxyServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _populate_from(self, path: Path) -> None:
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read proxy config {path}: {exc.strerror}") from exc
        try:
            proxies = await self.collection.populate(parse_populate(body))
        except ApiError as exc:
            self.collection.stop_all()
            raise ConfigError(f"proxy config {path}: {exc.message}") from exc
        logger.info("populated %d proxies from %s", len(proxies), path)


def _bind_api(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class ProxyServerThread:
    """A :class:`ProxyServer` in a daemon thread with its own event loop.

    ``start()`` returns once the API accepts connections (or raises what start-up
    raised); ``stop()`` closes everything and joins the thread. Also a context manager.
    ``loop_factory`` picks the event loop (default: uvloop when installed); the other
    arguments are :class:`ProxyServer`'s.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: int | None = None,
        config: str | Path | None = None,
        handler_timeout: float = HANDLER_TIMEOUT_S,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] = new_event_loop,
    ) -> None:
        self.server = ProxyServer(
            host, port, seed=seed, config=config, handler_timeout=handler_timeout
        )
        self._loop_factory = loop_factory
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def api_port(self) -> int:
        """The API port."""
        return self.server.api_port

    @property
    def url(self) -> str:
        """The API's base URL."""
        return self.server.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop, for ``asyncio.run_coroutine_threadsafe`` from outside.

        The proxies' state belongs to this loop: read or change it only from there.
        """
        if self._loop is None or not self._started.is_set():
            raise RuntimeError("the fault proxy thread is not started")
        return self._loop

    def start(self) -> None:
        """Start the thread and wait until the server is up."""
        self._thread = threading.Thread(target=self._main, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._started.wait(_THREAD_START_TIMEOUT_S):
            raise RuntimeError("the fault proxy did not start within 30 s")
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Stop the server and join the thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=_THREAD_START_TIMEOUT_S)

    def __enter__(self) -> ProxyServerThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _main(self) -> None:
        loop = self._loop = self._loop_factory()
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start() through _error
            self._error = exc
        finally:
            self._started.set()
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        await self.server.start()
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()
