"""What does the embedded fault proxy cost? Direct TCP vs through ``harness.proxy``.

Every figure is measured side by side with the direct path in the same run, and printed
next to the bar a real Toxiproxy 2.12 set on a 2-core machine (client, proxy and server
sharing the cores):

===========  =============================================  ===========================
name         what                                           Toxiproxy 2.12
===========  =============================================  ===========================
rtt          64-byte request/response round trip, median    adds 0.10 ms
pgbench      ``pgbench -S`` rate, 8 and 32 clients          keeps 0.53 of direct
latency      latency toxic of 50 ms and of 200 ms           adds 50.55 / 200.73 ms
throughput   200 MB moved client -> server                  550-640 MB/s
connections  1,000 connections open at once, one echo each  no error
===========  =============================================  ===========================

::

    python benchmarks/bench_proxy.py [--only rtt pgbench ...] [--api HOST:PORT [--pid N]]

Processes: this script (the clients), the proxy (``python -m harness.proxy``, or any
Toxiproxy-compatible server already running at ``--api``), an upstream (an echo server
and a counting sink on uvloop), and for ``pgbench`` a throwaway PostgreSQL 16 from
pgserver's binaries (run as pgserver's unprivileged user when we are root) with
pgbench as the client. Direct and proxied runs alternate so that noise from other work
on the machine falls on both. Everything listens on and talks to 127.0.0.1 only, every
loop is bounded, and everything stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import stat
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

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
    echo = await loop.create_server(Echo, "127.0.0.1", 0, backlog=4096)
    sink = await loop.create_server(Sink, "127.0.0.1", 0, backlog=4096)
    ports = [s.sockets[0].getsockname()[1] for s in (echo, sink)]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin

loop = new_loop()
loop.run_until_complete(main())
"""

MEASURES = ("rtt", "pgbench", "latency", "throughput", "connections")
_LISTENING = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
_CHUNK = 256 * 1024
_FDS_NEEDED = 8192


# ------------------------------------------------------------------------------ figures


@dataclass(frozen=True)
class Figure:
    """One measured figure next to its bar, and whether it meets the bar."""

    name: str
    ours: str
    bar: str
    verdict: str


def judge(name: str, ours: float, bar: float, unit: str, digits: int, higher: bool) -> Figure:
    """Compare ``ours`` with ``bar``: met when not worse (higher or lower is better)."""
    gap = (ours - bar) if higher else (bar - ours)  # positive: better than the bar
    text = f"{abs(gap):.{digits}f}{unit}"
    verdict = f"met, {text} better" if gap >= 0 else f"MISSED by {text}"
    return Figure(name, f"{ours:.{digits}f}{unit}", f"{bar:.{digits}f}{unit}", verdict)


def print_table(figures: list[Figure]) -> None:
    """The summary: every figure, its bar and the verdict."""
    header = Figure("figure", "ours", "Toxiproxy 2.12", "verdict")
    widths = [max(len(getattr(f, k)) for f in [header, *figures]) for k in ("name", "ours", "bar")]
    print("\nsummary (bar: a real Toxiproxy 2.12 on a 2-core machine)")
    for figure in [header, *figures]:
        name, ours, bar = figure.name, figure.ours, figure.bar
        print(f"  {name:<{widths[0]}}  {ours:>{widths[1]}}  {bar:>{widths[2]}}  {figure.verdict}")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# ------------------------------------------------------------------------------ processes


@contextlib.contextmanager
def upstream_process() -> Iterator[tuple[int, int]]:
    """Start the echo + sink server; yield their ports."""
    process = subprocess.Popen(
        [sys.executable, "-c", UPSTREAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        echo, sink = json.loads(process.stdout.readline())
        yield echo, sink
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=10)


@contextlib.contextmanager
def proxy_process() -> Iterator[tuple[int, int]]:
    """Start ``python -m harness.proxy`` on a free port; yield its API port and pid."""
    command = [sys.executable, "-m", "harness.proxy", "--port", "0", "--log-level", "warn"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        port = _read_api_port(process)
        # Keep reading its log so that the proxy never blocks on a full pipe.
        threading.Thread(target=process.communicate, daemon=True).start()
        yield port, process.pid
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


def raise_fd_limit() -> None:
    """1,000 proxied connections need about 4,000 descriptors across the processes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _FDS_NEEDED if hard == resource.RLIM_INFINITY else min(_FDS_NEEDED, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# ------------------------------------------------------------------------------ the API


@dataclass
class Bench:
    """What every measurement needs: the API, the proxy's pid, the upstream's ports."""

    api: str  # host:port
    pid: int | None  # the proxy's process, when we started it (for its CPU time)
    echo: int
    sink: int

    def call(self, method: str, path: str, body: object | None = None) -> object:
        """Call the proxy API; return the decoded JSON answer (None when empty)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"http://{self.api}{path}", data, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def proxy(self, name: str, upstream_port: int) -> int:
        """(Re)create a proxy ``bench_<name>`` in front of a port; return its port."""
        with contextlib.suppress(urllib.error.HTTPError):
            self.call("DELETE", f"/proxies/bench_{name}")
        body = {
            "name": f"bench_{name}",
            "listen": "127.0.0.1:0",
            "upstream": f"127.0.0.1:{upstream_port}",
        }
        created = self.call("POST", "/proxies", body)
        assert isinstance(created, dict)
        return int(str(created["listen"]).rsplit(":", 1)[1])

    def cpu_seconds(self) -> float | None:
        """CPU time the proxy process has used so far (None for an external server)."""
        if self.pid is None:
            return None
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


def connect(port: int) -> socket.socket:
    """A client connection with Nagle off, as database drivers use."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trips(sock: socket.socket, trips: int, size: int = 64) -> list[float]:
    """Seconds per request/response of ``size`` bytes, ``trips`` times on ``sock``."""
    payload = b"x" * size
    times = []
    for _ in range(trips):
        started = time.perf_counter()
        sock.sendall(payload)
        received = 0
        while received < size:
            data = sock.recv(65536)
            if not data:
                raise RuntimeError("the echo connection closed")
            received += len(data)
        times.append(time.perf_counter() - started)
    return times


# ------------------------------------------------------------------------------ rtt


def _idle_toxics(bench: Bench) -> int:
    """A proxy whose toxics never act (noop, toxicity 0), as with ``toxicity: 0.1``."""
    port = bench.proxy("idle", bench.echo)
    for stream in ("upstream", "downstream"):
        noop = {"name": f"noop_{stream}", "type": "noop", "stream": stream}
        bench.call("POST", "/proxies/bench_idle/toxics", noop)
        never = {"name": f"never_{stream}", "type": "latency", "stream": stream, "toxicity": 0}
        bench.call("POST", "/proxies/bench_idle/toxics", {**never, "attributes": {"latency": 9}})
    return port


def measure_rtt(bench: Bench, trips: int, block: int = 250) -> list[Figure]:
    """64-byte round trips, direct and through two proxies, in blocks of rotating order."""
    ports = {"direct": bench.echo, "proxied": bench.proxy("echo", bench.echo)}
    ports["idle toxics"] = _idle_toxics(bench)
    times: dict[str, list[float]] = {name: [] for name in ports}
    proxy_cpu = 0.0
    with contextlib.ExitStack() as stack:
        socks = {name: stack.enter_context(connect(port)) for name, port in ports.items()}
        for sock in socks.values():
            round_trips(sock, 200)  # warm up every path
        for index in range(max(1, trips // block)):
            names = list(socks)[index % 3 :] + list(socks)[: index % 3]  # drift hits all
            for name in names:
                before = bench.cpu_seconds()
                times[name] += round_trips(socks[name], block)
                after = bench.cpu_seconds()
                if name == "proxied" and before is not None and after is not None:
                    proxy_cpu += after - before
    medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    print(f"rtt: 64 B round trips, {len(times['direct'])} on each path")
    for name, values in times.items():
        p99 = percentile(values, 0.99) * 1e3
        print(f"  {name:<12} median {medians[name]:.3f} ms  p99 {p99:.3f} ms")
    print(f"  with 4 idle toxics: adds {medians['idle toxics'] - medians['direct']:.3f} ms")
    if bench.pid is not None:
        print(f"  proxy CPU per round trip: {proxy_cpu / len(times['proxied']) * 1e6:.1f} us")
    added = medians["proxied"] - medians["direct"]
    return [judge("rtt 64 B: added median", added, 0.10, " ms", 3, higher=False)]


# ------------------------------------------------------------------------------ latency


def measure_latency(bench: Bench, trips: int, latencies: tuple[int, ...]) -> list[Figure]:
    """Median round trip with a downstream latency toxic, minus the direct median."""
    bars = {50: 50.55, 200: 200.73}
    figures = []
    with connect(bench.echo) as d_sock, connect(bench.proxy("echo", bench.echo)) as p_sock:
        round_trips(p_sock, 50)
        for latency in latencies:
            direct = statistics.median(round_trips(d_sock, 200)) * 1e3
            toxic = {"name": "lat", "type": "latency", "attributes": {"latency": latency}}
            bench.call("POST", "/proxies/bench_echo/toxics", toxic)
            try:
                proxied = [t * 1e3 for t in round_trips(p_sock, trips)]
            finally:
                bench.call("DELETE", "/proxies/bench_echo/toxics/lat")
            added = statistics.median(proxied) - direct
            print(f"latency {latency} ms: {trips} round trips, added median {added:.2f} ms")
            print(f"  spread {min(proxied):.2f} .. {max(proxied):.2f} ms (never below is a must)")
            bar = bars.get(latency, latency + 0.55)
            figures.append(judge(f"latency {latency} ms: added", added, bar, " ms", 2, False))
    return figures


# ------------------------------------------------------------------------------ throughput


def transfer(port: int, megabytes: int) -> float:
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


def measure_throughput(bench: Bench, megabytes: int, rounds: int) -> list[Figure]:
    """Bulk transfer, alternating direct and proxied each round."""
    proxied_port = bench.proxy("sink", bench.sink)
    direct: list[float] = []
    proxied: list[float] = []
    for index in range(rounds):
        order = [(direct, bench.sink), (proxied, proxied_port)]
        for results, port in order if index % 2 == 0 else reversed(order):
            results.append(transfer(port, megabytes))
    d_med, p_med = statistics.median(direct), statistics.median(proxied)
    print(f"throughput: {megabytes} MB per transfer, {rounds} rounds each way")
    print(f"  direct        {d_med:6.0f} MB/s (rounds {', '.join(f'{r:.0f}' for r in direct)})")
    print(f"  through proxy {p_med:6.0f} MB/s (rounds {', '.join(f'{r:.0f}' for r in proxied)})")
    print(f"  ratio proxy/direct {p_med / d_med:.2f}")
    return [judge(f"throughput {megabytes} MB", p_med, 550, " MB/s", 0, higher=True)]


# ------------------------------------------------------------------------------ connections


async def _hold_many(port: int, count: int, timeout: float) -> tuple[int, float]:
    """Open ``count`` connections at once, echo on each, close them; (errors, seconds)."""
    started = time.perf_counter()
    opened: list[asyncio.StreamWriter] = []
    all_echoed = asyncio.Event()
    pending = [count]

    async def one() -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            opened.append(writer)
            writer.write(b"y" * 64)
            if await reader.readexactly(64) != b"y" * 64:
                raise RuntimeError("wrong echo")
        finally:
            pending[0] -= 1
            if pending[0] == 0:
                all_echoed.set()
        await all_echoed.wait()  # every connection stays open until all have echoed

    results = await asyncio.wait_for(
        asyncio.gather(*(one() for _ in range(count)), return_exceptions=True), timeout
    )
    for writer in opened:
        writer.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        print(f"  first error: {errors[0]!r}")
    return len(errors), time.perf_counter() - started


def measure_connections(bench: Bench, count: int) -> list[Figure]:
    """``count`` concurrent connections, directly and through the proxy."""
    proxied_port = bench.proxy("many", bench.echo)
    d_errors, d_seconds = asyncio.run(_hold_many(bench.echo, count, 60))
    p_errors, p_seconds = asyncio.run(_hold_many(proxied_port, count, 60))
    print(f"connections: {count} open at once, one 64 B echo each")
    print(f"  direct        {d_errors} errors, {d_seconds:.2f} s")
    print(f"  through proxy {p_errors} errors, {p_seconds:.2f} s")
    verdict = "met" if p_errors == 0 else f"MISSED: {p_errors} errors"
    return [Figure(f"{count} concurrent connections", f"{p_errors} errors", "0 errors", verdict)]


# ------------------------------------------------------------------------------ pgbench


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_binaries() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver warns about XDG_RUNTIME_DIR on import
        from pgserver._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH)


def _as_unprivileged_user(workdir: Path, binaries: Path) -> dict[str, str]:
    """PostgreSQL refuses to run as root: hand it to pgserver's system user then."""
    if os.geteuid() != 0:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver import utils
    entry = utils.ensure_user_exists("pgserver")
    utils.ensure_prefix_permissions(workdir)
    utils.ensure_prefix_permissions(binaries)
    utils.ensure_folder_permissions(binaries, stat.S_IRGRP | stat.S_IROTH | stat.S_IXOTH)
    utils.ensure_folder_permissions(binaries.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    os.chown(workdir, entry.pw_uid, entry.pw_gid)
    return {"user": "pgserver"}


@contextlib.contextmanager
def postgres_server(scale: int) -> Iterator[tuple[Path, int]]:
    """A throwaway PostgreSQL 16 with pgbench's tables; yields its bin folder and port."""
    binaries = _pg_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    as_user = _as_unprivileged_user(workdir, binaries)
    data, port = workdir / "data", _free_port()
    subprocess.run(
        [binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True, capture_output=True, **as_user,  # type: ignore[call-overload]
    )  # fmt: skip
    process = subprocess.Popen(
        [binaries / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", workdir,
         "-c", "max_connections=200", "-c", "fsync=off", "-c", "synchronous_commit=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **as_user,  # type: ignore[call-overload]
    )  # fmt: skip
    try:
        _wait_for_postgres(binaries, port)
        subprocess.run(
            [binaries / "pgbench", "-i", "-q", "-s", str(scale), *_pg_target(port)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        yield binaries, port
    finally:
        process.send_signal(signal.SIGINT)  # "fast" shutdown
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_target(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "postgres"]


def _wait_for_postgres(binaries: Path, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [binaries / "pg_isready", "-h", "127.0.0.1", "-p", str(port), "-t", "1"],
            capture_output=True, check=False,
        )  # fmt: skip
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not accept connections within 60 s")


def pgbench_tps(binaries: Path, port: int, clients: int, seconds: int) -> float:
    """Transactions per second of ``pgbench -S`` (select only) against ``port``."""
    command = [
        binaries / "pgbench", "-S", "-n", "-c", str(clients), "-j", str(min(2, clients)),
        "-T", str(seconds), *_pg_target(port),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    match = _TPS.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()}")
    return float(match.group(1))


def measure_pgbench(bench: Bench, options: argparse.Namespace) -> list[Figure]:
    """``pgbench -S`` directly and through the proxy, alternating, per client count."""
    figures = []
    with postgres_server(options.pgbench_scale) as (binaries, pg_port):
        proxied_port = bench.proxy("postgres", pg_port)
        pgbench_tps(binaries, proxied_port, 8, 2)  # warm up the cache and both paths
        for clients in options.pgbench_clients:
            direct: list[float] = []
            proxied: list[float] = []
            cpu_share: list[float] = []
            for index in range(options.pgbench_rounds):
                order = [(direct, pg_port), (proxied, proxied_port)]
                for results, port in order if index % 2 == 0 else reversed(order):
                    before = bench.cpu_seconds()
                    results.append(pgbench_tps(binaries, port, clients, options.pgbench_seconds))
                    after = bench.cpu_seconds()
                    if port == proxied_port and before is not None and after is not None:
                        cpu_share.append((after - before) / options.pgbench_seconds)
            ratio = statistics.median(proxied) / statistics.median(direct)
            print(f"pgbench -S, {clients} clients, {options.pgbench_seconds} s runs:")
            print(f"  direct        tps {', '.join(f'{t:.0f}' for t in direct)}")
            print(f"  through proxy tps {', '.join(f'{t:.0f}' for t in proxied)}")
            if cpu_share:
                print(f"  proxy CPU while proxying: {statistics.median(cpu_share):.0%} of a core")
            figures.append(judge(f"pgbench -S {clients} clients: ratio", ratio, 0.53, "", 2, True))
    return figures


# ------------------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--only", nargs="+", choices=MEASURES, default=list(MEASURES), help="measures to run")
    add("--api", help="use the Toxiproxy-compatible server at HOST:PORT instead of ours")
    add("--pid", type=int, help="with --api: that server's pid, to report its CPU time")
    add("--trips", type=int, default=6000, help="rtt: round trips per side (6000)")
    add("--toxic-trips", type=int, default=30, help="latency: round trips per toxic (30)")
    add("--latencies", type=int, nargs="+", default=[50, 200], help="latency toxics in ms")
    add("--pgbench-clients", type=int, nargs="+", default=[8, 32], help="client counts (8 32)")
    add("--pgbench-seconds", type=int, default=8, help="length of each pgbench run (8)")
    add("--pgbench-rounds", type=int, default=2, help="runs per side and client count (2)")
    add("--pgbench-scale", type=int, default=1, help="pgbench -i scale (1)")
    add("--megabytes", type=int, default=200, help="throughput: MB per transfer (200)")
    add("--rounds", type=int, default=3, help="throughput: transfers per side (3)")
    add("--connections", type=int, default=1000, help="concurrent connections (1000)")
    return parser


def run(bench: Bench, options: argparse.Namespace) -> list[Figure]:
    """Run the selected measures in a fixed order; return their figures."""
    steps: dict[str, Callable[[], list[Figure]]] = {
        "rtt": lambda: measure_rtt(bench, options.trips),
        "pgbench": lambda: measure_pgbench(bench, options),
        "latency": lambda: measure_latency(bench, options.toxic_trips, tuple(options.latencies)),
        "throughput": lambda: measure_throughput(bench, options.megabytes, options.rounds),
        "connections": lambda: measure_connections(bench, options.connections),
    }
    figures = []
    for name in MEASURES:
        if name in options.only:
            figures += steps[name]()
            print(flush=True)
    return figures


def _load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    """Run the selected measures and print them with the summary table."""
    options = _parser().parse_args()
    raise_fd_limit()
    with contextlib.ExitStack() as stack:
        echo, sink = stack.enter_context(upstream_process())
        if options.api:
            bench = Bench(options.api, options.pid, echo, sink)
        else:
            api_port, pid = stack.enter_context(proxy_process())
            bench = Bench(f"127.0.0.1:{api_port}", pid, echo, sink)
        print(f"proxy API at {bench.api}; {os.cpu_count()} CPUs; {_load()}\n", flush=True)
        figures = run(bench, options)
    print_table(figures)
    print(f"\n{_load()} (other work on the machine moves every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
