"""What does the embedded fault proxy cost? Direct TCP vs through ``harness.proxy``.

Three measurements, each side by side in one run (direct to the upstream, then
through the proxy), printed with their ratio:

1. round trip of a 64-byte request/response on one connection (median and p99 of
   ``--trips`` sequential trips): the latency the proxy adds with no toxic;
2. the same with a 50 ms ``latency`` toxic on the downstream stream (median of
   ``--toxic-trips``): how close the added delay is to 50 ms;
3. throughput moving ``--megabytes`` MB client -> upstream (median of ``--rounds``).

    python benchmarks/bench_proxy.py [--trips 2000] [--toxic-trips 40] [--megabytes 200]
                                     [--rounds 3]

Three processes: this script (the client), the proxy (``python -m harness.proxy``) and
the upstream (an echo server and a counting sink, asyncio on uvloop when installed).
Everything listens on and talks to 127.0.0.1 only, and everything stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

UPSTREAM = r"""
import asyncio, json, struct, sys
try:
    import uvloop
    new_loop = uvloop.new_event_loop
except ImportError:
    new_loop = asyncio.new_event_loop

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(data)

class Sink(asyncio.Protocol):
    # The first 8 bytes announce the total; "done" goes back once it has all arrived.
    def connection_made(self, transport):
        self.transport, self.header, self.expected, self.count = transport, b"", None, 0
    def data_received(self, data):
        if self.expected is None:
            self.header += data
            if len(self.header) < 8:
                return
            self.expected = struct.unpack(">Q", self.header[:8])[0]
            data = self.header[8:]
        self.count += len(data)
        if self.count >= self.expected:
            self.transport.write(b"done")
            self.expected, self.header, self.count = None, b"", 0

async def main():
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(Echo, "127.0.0.1", 0)
    sink = await loop.create_server(Sink, "127.0.0.1", 0)
    ports = [s.sockets[0].getsockname()[1] for s in (echo, sink)]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin

loop = new_loop()
loop.run_until_complete(main())
"""

_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Ports:
    """Where the upstream's echo and sink listen, directly and through the proxy."""

    echo: int
    sink: int
    proxied_echo: int
    proxied_sink: int


@contextmanager
def upstream_process() -> Iterator[tuple[int, int]]:
    """Start the echo + sink server; yield their ports."""
    process = subprocess.Popen(
        [sys.executable, "-c", UPSTREAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        echo, sink = json.loads(process.stdout.readline())
        yield echo, sink
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)


@contextmanager
def proxy_process() -> Iterator[int]:
    """Start ``python -m harness.proxy`` on a free port; yield the API port."""
    command = [sys.executable, "-m", "harness.proxy", "--port", "0", "--log-level", "warn"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        yield _read_api_port(process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _read_api_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 1)
        if ready:
            match = _LISTENING.search(process.stderr.readline())
            if match:
                return int(match.group(1))
    raise RuntimeError("the proxy did not report its port within 20 s")


def api(port: int, method: str, path: str, body: object | None = None) -> object:
    """Call the proxy API; return the decoded JSON answer (None when empty)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        payload = response.read()
    return json.loads(payload) if payload else None


def create_proxy(api_port: int, name: str, upstream_port: int) -> int:
    """Create a proxy in front of ``upstream_port``; return its listening port."""
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream_port}"}
    created = api(api_port, "POST", "/proxies", body)
    assert isinstance(created, dict)
    return int(str(created["listen"]).rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    """A client connection with Nagle off, as database drivers use."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trips(port: int, trips: int, size: int = 64) -> list[float]:
    """Seconds per request/response of ``size`` bytes, ``trips`` times on one connection."""
    payload = b"x" * size
    times = []
    with connect(port) as sock:
        for _ in range(trips):
            started = time.perf_counter()
            sock.sendall(payload)
            received = 0
            while received < size:
                received += len(sock.recv(65536))
            times.append(time.perf_counter() - started)
    return times


def throughput(port: int, megabytes: int) -> float:
    """MB/s (10**6 bytes) moving ``megabytes`` MB to the sink and waiting for its ack."""
    total = megabytes * 1_000_000
    block = b"\0" * _CHUNK
    with connect(port) as sock:
        started = time.perf_counter()
        sock.sendall(struct.pack(">Q", total))
        remaining = total
        while remaining > 0:
            sent = min(remaining, _CHUNK)
            sock.sendall(block[:sent] if sent < _CHUNK else block)
            remaining -= sent
        if sock.recv(4) != b"done":
            raise RuntimeError("the sink did not acknowledge the transfer")
        return megabytes / (time.perf_counter() - started)


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_round_trip(ports: Ports, trips: int) -> None:
    """Measure 1: added latency of a small round trip, no toxic."""
    round_trips(ports.echo, 100)  # warm up both paths
    round_trips(ports.proxied_echo, 100)
    direct = round_trips(ports.echo, trips)
    proxied = round_trips(ports.proxied_echo, trips)
    d_med, p_med = statistics.median(direct) * 1e6, statistics.median(proxied) * 1e6
    print(f"round trip, 64 B, median of {trips} (p99 in brackets):")
    print(f"  direct        {d_med:8.1f} us  ({percentile(direct, 0.99) * 1e6:.1f} us)")
    print(f"  through proxy {p_med:8.1f} us  ({percentile(proxied, 0.99) * 1e6:.1f} us)")
    print(f"  added {p_med - d_med:.1f} us per round trip; ratio proxy/direct {p_med / d_med:.2f}")


def bench_latency_toxic(api_port: int, ports: Ports, trips: int) -> None:
    """Measure 2: a 50 ms downstream latency toxic's added delay."""
    direct = statistics.median(round_trips(ports.echo, trips))
    api(
        api_port, "POST", "/proxies/echo/toxics", {"type": "latency", "attributes": {"latency": 50}}
    )
    try:
        proxied = round_trips(ports.proxied_echo, trips)
    finally:
        api(api_port, "DELETE", "/proxies/echo/toxics/latency_downstream")
    added_ms = (statistics.median(proxied) - direct) * 1e3
    print(f"latency toxic of 50 ms, median of {trips} round trips:")
    print(f"  added {added_ms:.2f} ms (error {added_ms - 50:+.2f} ms, ratio {added_ms / 50:.3f})")
    print(f"  spread {min(proxied) * 1e3:.2f} .. {max(proxied) * 1e3:.2f} ms")


def bench_throughput(ports: Ports, megabytes: int, rounds: int) -> None:
    """Measure 3: bulk throughput, alternating direct and proxied each round."""
    direct, proxied = [], []
    for index in range(rounds):
        order = [(direct, ports.sink), (proxied, ports.proxied_sink)]
        for results, port in order if index % 2 == 0 else reversed(order):
            results.append(throughput(port, megabytes))
    d_med, p_med = statistics.median(direct), statistics.median(proxied)
    print(f"throughput moving {megabytes} MB, median of {rounds} rounds:")
    print(f"  direct        {d_med:8.0f} MB/s  (rounds: {', '.join(f'{r:.0f}' for r in direct)})")
    print(f"  through proxy {p_med:8.0f} MB/s  (rounds: {', '.join(f'{r:.0f}' for r in proxied)})")
    print(f"  ratio proxy/direct {p_med / d_med:.2f}")


def main() -> int:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=2000, help="round trips per side")
    parser.add_argument("--toxic-trips", type=int, default=40, help="round trips with the toxic")
    parser.add_argument("--megabytes", type=int, default=200, help="MB moved per transfer")
    parser.add_argument("--rounds", type=int, default=3, help="transfers per side")
    args = parser.parse_args()
    with upstream_process() as (echo, sink), proxy_process() as api_port:
        ports = Ports(
            echo=echo,
            sink=sink,
            proxied_echo=create_proxy(api_port, "echo", echo),
            proxied_sink=create_proxy(api_port, "sink", sink),
        )
        bench_round_trip(ports, args.trips)
        bench_latency_toxic(api_port, ports, args.toxic_trips)
        bench_throughput(ports, args.megabytes, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
