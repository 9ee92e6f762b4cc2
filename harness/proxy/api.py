"""The HTTP API, byte-compatible with Toxiproxy 2.12 (routes, statuses, bodies, headers).

Routing is done here rather than by aiohttp's router, to reproduce gorilla/mux as
Toxiproxy uses it: routes match the *decoded* path exactly (``/proxies/`` is 404), a
path that is not clean (``//x``, ``/a/../b``) is redirected with 301, a known path with
another method is 405 with an empty body, and an unknown path is Go's plain
``404 page not found``. Only matched routes get the ``X-Toxiproxy-Request-Id`` header,
the browser block (a ``User-Agent`` starting ``Mozilla/`` gets 403) and the handler
timeout (25 s as in Toxiproxy, then 503; the handler itself goes on and completes).
Bodies come from :mod:`harness.proxy.gojson`: compact JSON without a trailing newline
on success, Go's ``http.Error`` form on errors.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import os
import re
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from harness.proxy import gojson
from harness.proxy.collection import PopulateError, ProxyCollection
from harness.proxy.errors import ApiError
from harness.proxy.payloads import (
    parse_populate,
    parse_proxy_create,
    parse_proxy_update,
    parse_toxic_create,
    parse_toxic_update,
)

__all__ = ["HANDLER_TIMEOUT_S", "TOXIPROXY_VERSION", "build_app"]

logger = logging.getLogger(__name__)

#: The Toxiproxy version this server answers as.
TOXIPROXY_VERSION = "2.12.0"

#: Toxiproxy wraps every handler in Go's ``http.TimeoutHandler`` with this limit.
HANDLER_TIMEOUT_S = 25.0
_TIMEOUT_BODY = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"

Handler = Callable[..., Awaitable[web.Response]]


class _RequestIds:
    """20-character ids in the ``xid`` format Toxiproxy's request-id middleware uses."""

    def __init__(self) -> None:
        self._machine = hashlib.md5(socket.gethostname().encode(), usedforsecurity=False)
        self._pid = os.getpid() & 0xFFFF
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        raw = struct.pack(">I", int(time.time()) & 0xFFFFFFFF)
        raw += self._machine.digest()[:3] + struct.pack(">H", self._pid)
        raw += (next(self._counter) & 0xFFFFFF).to_bytes(3, "big")
        return base64.b32hexencode(raw).decode("ascii")[:20].lower()


# ------------------------------------------------------------------------------ responses


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=gojson.dumps(value), headers={"Content-Type": _JSON})


def _empty(status: int) -> web.Response:
    return web.Response(status=status)


def _text_error(body: bytes, status: int) -> web.Response:
    # Go's http.Error: plain text, nosniff, and a trailing newline.
    headers = {"Content-Type": _TEXT, "X-Content-Type-Options": "nosniff"}
    return web.Response(status=status, body=body, headers=headers)


def _api_error(error: ApiError) -> web.Response:
    body = gojson.dumps({"error": error.message, "status": error.status}) + b"\n"
    return _text_error(body, error.status)


# ------------------------------------------------------------------------------ handlers


class _Handlers:
    """One method per Toxiproxy handler; mutations are serialised by the collection's lock."""

    def __init__(self, collection: ProxyCollection) -> None:
        self.collection = collection
        self.lock = collection.lock

    async def proxy_index(self, request: web.Request) -> web.Response:
        return _json({proxy.name: proxy.to_json() for proxy in self.collection.sorted()})

    async def proxy_create(self, request: web.Request) -> web.Response:
        spec = parse_proxy_create(await request.read())
        async with self.lock:
            proxy = await self.collection.create(spec)
        return _json(proxy.to_json(), 201)

    async def populate(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            specs = parse_populate(body)
            async with self.lock:
                proxies = await self.collection.populate(specs)
        except PopulateError as exc:
            return self._populate_reply(exc.proxies, exc)
        except ApiError as exc:
            return self._populate_reply(None, exc)
        return self._populate_reply(proxies, None)

    @staticmethod
    def _populate_reply(proxies: list[Any] | None, error: ApiError | None) -> web.Response:
        # Always JSON here, errors included; Go prints an empty slice as null.
        listed = [proxy.to_json() for proxy in proxies] if proxies else None
        if error is None:
            return _json({"proxies": listed}, 201)
        return _json(
            {"error": error.message, "status": error.status, "proxies": listed}, error.status
        )

    async def proxy_show(self, request: web.Request, name: str) -> web.Response:
        return _json(self.collection.get(name).to_json())

    async def proxy_update(self, request: web.Request, name: str) -> web.Response:
        async with self.lock:
            proxy = self.collection.get(name)
            change = parse_proxy_update(await request.read(), proxy.current())
            await proxy.update(change)
        return _json(proxy.to_json())

    async def proxy_delete(self, request: web.Request, name: str) -> web.Response:
        async with self.lock:
            self.collection.delete(name)
        return _empty(204)

    async def toxic_index(self, request: web.Request, name: str) -> web.Response:
        proxy = self.collection.get(name)
        return _json([entry.to_json() for entry in proxy.toxics.entries()])

    async def toxic_create(self, request: web.Request, name: str) -> web.Response:
        async with self.lock:
            proxy = self.collection.get(name)
            body = await request.read()
            entry = parse_toxic_create(body, lambda n: proxy.toxics.find(n) is not None)
            proxy.toxics.add(entry)
        return _json(entry.to_json())

    async def toxic_show(self, request: web.Request, name: str, toxic: str) -> web.Response:
        return _json(self.collection.get(name).toxics.get(toxic).to_json())

    async def toxic_update(self, request: web.Request, name: str, toxic: str) -> web.Response:
        async with self.lock:
            toxics = self.collection.get(name).toxics
            entry = toxics.get(toxic)
            new_toxic, toxicity = parse_toxic_update(await request.read(), entry)
            toxics.update(entry, new_toxic, toxicity)
        return _json(entry.to_json())

    async def toxic_delete(self, request: web.Request, name: str, toxic: str) -> web.Response:
        async with self.lock:
            self.collection.get(name).toxics.remove(toxic)
        return _empty(204)

    async def reset(self, request: web.Request) -> web.Response:
        async with self.lock:
            await self.collection.reset()
        return _empty(204)

    async def version(self, request: web.Request) -> web.Response:
        body = b'{"version": "' + TOXIPROXY_VERSION.encode() + b'"}\n'
        return web.Response(body=body, headers={"Content-Type": "application/json;charset=utf-8"})

    async def metrics(self, request: web.Request) -> web.Response:
        body = self.collection.runtime.metrics.render()
        content_type = "text/plain; version=0.0.4; charset=utf-8"
        return web.Response(body=body, headers={"Content-Type": content_type})


# ------------------------------------------------------------------------------ routing


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: dict[str, str]  # HTTP method ("*" = any) -> _Handlers method name


def _route(template: str, **methods: str) -> _Route:
    regex = re.escape(template).replace(r"\{proxy\}", "([^/]+)").replace(r"\{toxic\}", "([^/]+)")
    return _Route(
        re.compile(regex), {key.replace("ANY", "*"): value for key, value in methods.items()}
    )


_ROUTES = (
    _route("/reset", POST="reset"),
    _route("/proxies", GET="proxy_index", POST="proxy_create"),
    _route("/populate", POST="populate"),
    _route(
        "/proxies/{proxy}",
        GET="proxy_show",
        POST="proxy_update",
        PATCH="proxy_update",
        DELETE="proxy_delete",
    ),
    _route("/proxies/{proxy}/toxics", GET="toxic_index", POST="toxic_create"),
    _route(
        "/proxies/{proxy}/toxics/{toxic}",
        GET="toxic_show",
        POST="toxic_update",
        PATCH="toxic_update",
        DELETE="toxic_delete",
    ),
    _route("/version", GET="version"),
    _route("/metrics", ANY="metrics"),
)


def clean_path(path: str) -> str:
    """gorilla/mux's ``cleanPath``: Go's ``path.Clean``, keeping a trailing slash."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


class _Dispatcher:
    def __init__(self, handlers: _Handlers, handler_timeout: float) -> None:
        self._handlers = handlers
        self._handler_timeout = handler_timeout
        self._ids = _RequestIds()

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Route one request the way gorilla/mux does in Toxiproxy."""
        raw_path, _, query = request.raw_path.partition("?")
        path = unquote(raw_path)
        cleaned = clean_path(path)
        if cleaned != path:
            location = cleaned + (f"?{query}" if query else "")
            return web.Response(status=301, headers={"Location": location})
        path_matched = False
        for route in _ROUTES:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            name = route.methods.get(request.method) or route.methods.get("*")
            if name is not None:
                handler: Handler = getattr(self._handlers, name)
                return await self._run_matched(request, handler, match.groups())
        if path_matched:
            return _empty(405)
        return _text_error(b"404 page not found\n", 404)

    async def _run_matched(
        self, request: web.Request, handler: Handler, params: tuple[str | Any, ...]
    ) -> web.Response:
        request_id = self._ids.next()
        if request.headers.get("User-Agent", "").startswith("Mozilla/"):
            response = _text_error(b"User agent not allowed\n", 403)
        else:
            response = await self._call_with_timeout(request, handler, params)
        response.headers["X-Toxiproxy-Request-Id"] = request_id
        logger.debug("%s %s -> %d", request.method, request.raw_path, response.status)
        return response

    async def _call_with_timeout(
        self, request: web.Request, handler: Handler, params: tuple[str | Any, ...]
    ) -> web.Response:
        # Like Go's TimeoutHandler, a slow handler gets 503 but is not cancelled.
        task = asyncio.ensure_future(_guarded(handler, request, params))
        done, _pending = await asyncio.wait({task}, timeout=self._handler_timeout)
        if not done:
            headers = {"Content-Type": "text/html; charset=utf-8"}
            return web.Response(status=503, body=_TIMEOUT_BODY, headers=headers)
        return task.result()


async def _guarded(handler: Handler, request: web.Request, params: tuple[Any, ...]) -> web.Response:
    try:
        return await handler(request, *params)
    except ApiError as exc:
        return _api_error(exc)
    except Exception as exc:  # a bug must still answer like Toxiproxy: 500 with the error
        logger.exception("API handler %s failed", getattr(handler, "__name__", handler))
        return _api_error(ApiError(str(exc) or type(exc).__name__, 500))


async def _drop_server_header(request: web.Request, response: web.StreamResponse) -> None:
    # Go's net/http sends no Server header; aiohttp adds one unless removed here.
    response.headers.popall("Server", None)


def build_app(
    collection: ProxyCollection, *, handler_timeout: float = HANDLER_TIMEOUT_S
) -> web.Application:
    """The aiohttp application serving the Toxiproxy API over ``collection``.

    A handler still running after ``handler_timeout`` seconds gets Go's 503 answer.
    """
    app = web.Application(client_max_size=16 * 1024 * 1024)
    dispatcher = _Dispatcher(_Handlers(collection), handler_timeout)
    app.router.add_route("*", "/{tail:.*}", dispatcher.dispatch)
    app.on_response_prepare.append(_drop_server_header)
    return app
