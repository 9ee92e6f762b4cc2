"""The embedded fault proxy: a Toxiproxy 2.12-compatible server written in Python.

Any Toxiproxy client (``toxiproxy-python``, the Go client, plain HTTP) drives it
unchanged: same routes, status codes, bodies and toxic semantics. Used where no
Toxiproxy binary is available; where one is, the harness can use it instead and
nothing else changes.

Start one with ``python -m harness.proxy --port 8474`` or, in code::

    async with ProxyServer(port=0, seed=7) as server:
        ...  # server.url is the API

    with ProxyServerThread(port=0) as server:  # from synchronous code
        ...
"""

from harness.proxy.server import ConfigError, ProxyServer, ProxyServerThread

__all__ = ["ConfigError", "ProxyServer", "ProxyServerThread"]
