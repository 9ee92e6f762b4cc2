"""Talking to a Toxiproxy server (the real one or ours) through toxiproxy-python.

toxiproxy-python keeps the server address in class attributes of its APIConsumer, so
one process can talk to one server at a time; the client below points it at its own
server before each call. Errors from the library and from ``requests`` become
FaultError with the server's answer in the message.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.errors import FaultError

log = logging.getLogger(__name__)

T = TypeVar("T")

# APIConsumer's address is global to the process; serialise use of it.
_CLIENT_LOCK = threading.Lock()


class ToxiproxyClient:
    """The operations the harness needs from a Toxiproxy API at ``url``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise FaultError(f"Toxiproxy URL needs a host and port, got {url!r}")
        self.url = url
        self.host = parts.hostname
        self.port = parts.port

    @contextmanager
    def _server(self) -> Iterator[Toxiproxy]:
        with _CLIENT_LOCK:
            server = Toxiproxy()
            server.update_api_consumer(self.host, self.port)
            yield server

    def _call(self, what: str, action: Callable[[Toxiproxy], T]) -> T:
        try:
            with self._server() as server:
                return action(server)
        except (ProxyExists, NotFound, InvalidToxic) as exc:
            raise FaultError(f"Toxiproxy at {self.url} refused to {what}: {_body(exc)}") from exc
        except requests.RequestException as exc:
            raise FaultError(f"cannot reach Toxiproxy at {self.url} to {what}: {exc}") from exc

    def version(self) -> str:
        """The server's version string."""
        return self._call(
            "read its version",
            lambda _: str(_checked(APIConsumer.get("/version")).json()["version"]),
        )

    def create_proxy(self, name: str, listen: str, upstream: str) -> str:
        """Create an enabled proxy; returns the address it actually listens on."""

        def create(server: Toxiproxy) -> str:
            return str(server.create(upstream=upstream, name=name, listen=listen).listen)

        return self._call(f"create proxy {name}", create)

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        """Add a toxic given in Toxiproxy's JSON form (name, type, stream, toxicity...)."""
        self._call(
            f"add toxic {toxic.get('name')} to {proxy}",
            lambda _: _checked(APIConsumer.post(f"/proxies/{proxy}/toxics", json=toxic)),
        )

    def update_toxic(self, proxy: str, name: str, attributes: dict[str, int]) -> None:
        """Change some attributes of a toxic in place (Toxiproxy merges them)."""
        self._call(
            f"update toxic {name} on {proxy}",
            lambda _: _checked(
                APIConsumer.post(f"/proxies/{proxy}/toxics/{name}", json={"attributes": attributes})
            ),
        )

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic by name."""
        self._call(
            f"remove toxic {name} from {proxy}",
            lambda _: _checked(APIConsumer.delete(f"/proxies/{proxy}/toxics/{name}")),
        )

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable (close listener and connections of) a proxy."""
        self._call(
            f"{'enable' if enabled else 'disable'} {proxy}",
            lambda _: _checked(APIConsumer.post(f"/proxies/{proxy}", json={"enabled": enabled})),
        )

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        """The toxics currently on a proxy."""
        return self._call(
            f"list toxics of {proxy}",
            lambda _: list(_checked(APIConsumer.get(f"/proxies/{proxy}/toxics")).json()),
        )

    def proxy(self, name: str) -> dict[str, Any]:
        """A proxy's JSON form."""
        return self._call(
            f"read proxy {name}",
            lambda _: dict(_checked(APIConsumer.get(f"/proxies/{name}")).json()),
        )

    def metrics(self) -> str:
        """The server's Prometheus text (ours always; real Toxiproxy with -proxy-metrics)."""
        return self._call("read its metrics", lambda _: _checked(APIConsumer.get("/metrics")).text)

    def delete_proxy(self, name: str) -> None:
        """Remove a proxy, closing its listener and connections."""
        self._call(
            f"delete proxy {name}", lambda _: _checked(APIConsumer.delete(f"/proxies/{name}"))
        )

    def take_over(self, name: str) -> bool:
        """Delete a proxy of that name if the server has one (left by an earlier run)."""
        try:
            self.proxy(name)
        except FaultError:
            return False
        log.warning("replacing proxy %r left on the Toxiproxy at %s", name, self.url)
        self.delete_proxy(name)
        return True

    def reset_proxy(self, name: str) -> None:
        """Enable one proxy and remove its toxics, leaving other proxies on the server alone."""
        self.set_enabled(name, True)
        for toxic in self.toxics(name):
            self.remove_toxic(name, str(toxic["name"]))

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("reset", lambda _: _checked(APIConsumer.post("/reset")))


def _checked(response: requests.Response) -> requests.Response:
    # The library maps 400/404/409 to exceptions; anything else >= 400 would pass silently.
    if response.status_code >= 400:
        raise FaultError(f"Toxiproxy answered {response.status_code}: {response.text.strip()}")
    return response


def _body(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace").strip() if isinstance(arg, bytes) else str(arg)
