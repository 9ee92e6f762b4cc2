"""A small TCP load balancer: one address in front of the booking replicas.

Connections are spread round robin, as a cloud load balancer would; a replica that
refuses a connection is skipped for a moment (passive health checking), so a
restarting replica's clients land on the others. Bytes are copied both ways without
looking at them. Run as ``python -m harness.backends.balancer --listen H:P
--backend H:P [--backend H:P ...]``; SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import signal
import sys
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
# How long a replica that refused a connection is left out of the rotation.
COOL_DOWN = 1.0
CHUNK = 64 * 1024


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class Balancer:
    """Round robin over ``backends`` with a short cool-down for those that refuse."""

    def __init__(self, backends: Sequence[str]) -> None:
        self.backends = [_split(b) for b in backends]
        self._turn = itertools.cycle(range(len(self.backends)))
        self._down_until = [0.0] * len(self.backends)

    async def _dial(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in range(len(self.backends)):
            index = next(self._turn)
            if self._down_until[index] > time.monotonic():
                continue
            host, port = self.backends[index]
            try:
                return await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
            except (OSError, asyncio.TimeoutError):
                self._down_until[index] = time.monotonic() + COOL_DOWN
        return None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Pair one client connection with a replica and copy until either side closes."""
        upstream = await self._dial()
        if upstream is None:
            writer.close()  # every replica is down: the client sees the connection close
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        # Closing one direction closes the whole connection, as a proxy does.
        with contextlib.suppress(Exception):
            writer.close()


async def serve(listen: str, backends: Sequence[str]) -> None:
    """Serve until SIGTERM or SIGINT."""
    balancer = Balancer(backends)
    host, port = _split(listen)
    server = await asyncio.start_server(balancer.handle, host, port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = server.sockets[0].getsockname()
    print(
        f"balancer listening on {bound[0]}:{bound[1]} -> {', '.join(backends)}",
        file=sys.stderr,
        flush=True,
    )
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m harness.backends.balancer``."""
    parser = argparse.ArgumentParser(prog="python -m harness.backends.balancer")
    parser.add_argument("--listen", required=True, help="HOST:PORT to accept clients on")
    parser.add_argument("--backend", action="append", required=True, help="HOST:PORT (repeat)")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.listen, args.backend))
    else:
        uvloop.run(serve(args.listen, args.backend))
    return 0


if __name__ == "__main__":
    sys.exit(main())
