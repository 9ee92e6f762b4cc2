"""TCP addresses read, resolved, bound and printed the way Toxiproxy (Go's ``net``) does.

A proxy's ``listen`` is reported as the bound address (``localhost:3310`` becomes
``127.0.0.1:3310``), compared after resolution on update and populate, and its errors
reach API clients verbatim (``listen tcp 127.0.0.1:3310: bind: address already in use``),
so this module reproduces Go's parsing rules and error texts.

Deliberate difference: a listen address with an empty host (``""`` or ``":0"``) binds
127.0.0.1 rather than every interface, because this harness never opens listeners
beyond loopback unless asked by an explicit address such as ``0.0.0.0:PORT``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from dataclasses import dataclass

from harness.proxy.errors import ApiError, internal

__all__ = [
    "AddrError",
    "Endpoint",
    "bind_listener",
    "join_host_port",
    "resolve_endpoint",
    "resolve_tcp_addr",
    "split_host_port",
]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost."})
_LISTEN_BACKLOG = 4096


class AddrError(Exception):
    """An address Go cannot parse; ``str()`` is Go's ``AddrError`` text."""

    def __init__(self, address: str, why: str) -> None:
        super().__init__(f"address {address}: {why}" if address else why)


@dataclass(frozen=True)
class Endpoint:
    """A resolved TCP address: ``ip`` is None for an empty (unspecified) host."""

    ip: str | None
    port: int

    def __str__(self) -> str:
        """Go's ``TCPAddr.String()``: ``127.0.0.1:80``, ``[::1]:80``, ``:0``."""
        return join_host_port(self.ip or "", self.port)


def join_host_port(host: str, port: int | str) -> str:
    """Join like Go's ``net.JoinHostPort`` (brackets around IPv6 hosts)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def split_host_port(hostport: str) -> tuple[str, str]:
    """Split ``host:port`` with the rules and error texts of Go's ``net.SplitHostPort``."""
    colon = hostport.rfind(":")
    if colon < 0:
        raise AddrError(hostport, "missing port in address")
    open_at, close_at = 0, 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise AddrError(hostport, "missing ']' in address")
        if end + 1 == len(hostport):
            raise AddrError(hostport, "missing port in address")
        if end + 1 != colon:
            why = "too many colons" if hostport[end + 1] == ":" else "missing port"
            raise AddrError(hostport, f"{why} in address")
        host = hostport[1:end]
        open_at, close_at = 1, end + 1
    else:
        host = hostport[:colon]
        if ":" in host:
            raise AddrError(hostport, "too many colons in address")
    if "[" in hostport[open_at:]:
        raise AddrError(hostport, "unexpected '[' in address")
    if "]" in hostport[close_at:]:
        raise AddrError(hostport, "unexpected ']' in address")
    return host, hostport[colon + 1 :]


def parse_port(service: str) -> int:
    """Read a port as Go's ``LookupPort`` does: digits, a service name, or ``""`` (0)."""
    if service == "":
        return 0
    digits = service[1:] if service[0] in "+-" else service
    if digits.isascii() and digits.isdigit():
        port = int(digits) * (-1 if service[0] == "-" else 1)
    else:
        try:
            port = socket.getservbyname(service, "tcp")
        except OSError as exc:
            raise AddrError("", f"lookup tcp/{service}: unknown port") from exc
    if not 0 <= port <= 65535:
        raise AddrError(service, "invalid port")
    return port


def _literal_ip(host: str) -> str | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


async def _resolve_host(host: str) -> str | None:
    """Resolve a host name to one IP, preferring IPv4 as Go does; None for ``""``."""
    if host == "":
        return None
    literal = _literal_ip(host)
    if literal is not None:
        return literal
    if host.lower() in _LOOPBACK_NAMES:
        return "127.0.0.1"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddrError("", f"lookup {host}: no such host") from exc
    addresses = [str(info[4][0]) for info in infos]
    ipv4 = [address for address in addresses if ":" not in address]
    return (ipv4 or addresses)[0]


async def resolve_endpoint(address: str) -> Endpoint:
    """Resolve ``address`` like Go's ``net.ResolveTCPAddr("tcp", address)``.

    Raises :class:`AddrError` with Go's text for an unparsable or unknown address.
    """
    if address == "":
        return Endpoint(None, 0)
    host, service = split_host_port(address)
    port = parse_port(service)
    return Endpoint(await _resolve_host(host), port)


async def resolve_tcp_addr(address: str) -> str:
    """Return ``ResolveTCPAddr(address).String()``; errors are API errors (500)."""
    try:
        return str(await resolve_endpoint(address))
    except AddrError as exc:
        raise internal(str(exc)) from exc


async def bind_listener(address: str) -> tuple[socket.socket, str]:
    """Bind and listen on ``address``; return the socket and its bound ``host:port``.

    Errors are API errors (500) with Go's ``net.Listen`` text, e.g.
    ``listen tcp 127.0.0.1:3310: bind: address already in use``.
    """
    try:
        endpoint = await resolve_endpoint(address)
    except AddrError as exc:
        raise internal(f"listen tcp: {exc}") from exc
    ip = endpoint.ip or "127.0.0.1"  # see the module docstring: loopback by default
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Go sets SO_REUSEADDR on listeners: a port held by TIME_WAIT sockets of a
        # closed proxy can be bound again at once.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        _bind(sock, ip, endpoint.port)
        sock.listen(_LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock, _bound_address(sock)


def _bind(sock: socket.socket, ip: str, port: int) -> None:
    try:
        sock.bind((ip, port))
    except OSError as exc:
        raise _listen_error(join_host_port(ip, port), "bind", exc) from exc


def _listen_error(where: str, syscall: str, exc: OSError) -> ApiError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    reason = reason[:1].lower() + reason[1:]  # Go's errno texts are lower case
    return internal(f"listen tcp {where}: {syscall}: {reason}")


def _bound_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return join_host_port(_literal_ip(host) or host, port)


async def dial_target(address: str) -> tuple[str, int]:
    """Return the host and port to dial for an upstream ``address`` (Go's rules).

    An empty host means the local system, as with Go's ``net.Dial``.
    Raises :class:`AddrError` for an unparsable or unknown address.
    """
    endpoint = await resolve_endpoint(address)
    return endpoint.ip or "127.0.0.1", endpoint.port
