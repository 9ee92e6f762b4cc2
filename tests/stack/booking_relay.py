"""A loopback TCP relay to PostgreSQL that tests cut and restore, like a network fault."""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class Relay:
    """A loopback TCP relay to PostgreSQL that can be cut and restored, like a network fault."""

    def __init__(self, port: int, target_port: int) -> None:
        self.port = port
        self._target = target_port
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def route(self, database_url: str) -> str:
        """``database_url`` (a URL to the target port) rewritten to go through the relay."""
        return database_url.replace(f":{self._target}/", f":{self.port}/")

    def open(self) -> None:
        """Start accepting connections on ``self.port``."""
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every relayed connection."""
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                _close(sock)
        self._listener, self._sockets = None, []

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed by cut()
            upstream = socket.create_connection(("127.0.0.1", self._target))
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
