"""The embedded fault proxy: a Toxiproxy 2.12-compatible server written in Python.

Any Toxiproxy client (``toxiproxy-python``, the Go client, plain HTTP) drives it
unchanged: same routes, status codes, bodies and toxic semantics. Used where no
Toxiproxy binary is available; where one is, the harness can use it instead and
nothing else changes.

Start one with ``harness proxy serve`` or ``python -m harness.proxy`` (the options of
``toxiproxy-server``; the API on 127.0.0.1:8474 by default) or, in code::

    async with ProxyServer(port=0, seed=7) as server:
        ...  # server.url is the API

    with ProxyServerThread(port=0) as server:  # from synchronous code
        ...

Known differences from Toxiproxy 2.12, all deliberate:

- A listen address with an empty host binds 127.0.0.1, not every interface.
- ``/metrics`` is always served, and its byte counters move while connections are
  open (Toxiproxy adds a connection's bytes when it closes).
- ``--seed`` works: toxicity rolls, jitter and slicer sizes come from one seeded
  ``random.Random`` per server.
- ``--config`` that cannot be read or applied stops start-up (exit 1) instead of
  being logged and ignored.
- Inputs that crash Toxiproxy (a negative bandwidth ``rate``, a slicer with zero
  ``size_variation``) stall or slice in one-byte pieces instead.
- A latency toxic interrupted by a chain change keeps the rest of its delay for the
  chunk it holds, and a bandwidth toxic delays that chunk again (Toxiproxy lets that one
  chunk through at once in both cases).
- Logs are text lines on stderr, not JSON on stdout; host names other than
  ``localhost`` are resolved with the system resolver.
"""

from harness.proxy.server import ConfigError, ProxyServer, ProxyServerThread

__all__ = ["ConfigError", "ProxyServer", "ProxyServerThread"]
