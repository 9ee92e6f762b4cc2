"""How much load does the per-second recorder cost Locust? Plain Locust vs Locust + recorder.

Runs the same Locust user (FastHttpUser, ``GET /`` in a tight loop, no think time) in one
Locust process against a trivial local HTTP server, once without and once with the
recorder (`harness.load.hooks.attach`), for the same duration, and prints both request
rates and their ratio. The goal is a ratio >= 0.95.

    python benchmarks/bench_recorder.py [--duration 10] [--users 10] [--rounds 3]

Throughput on a shared machine moves by 10-20 % from one run to the next: use a few
rounds (the order alternates each round) and read the median ratio. The ratio of
requests per CPU second of the Locust process is printed too; it is steadier when
other work competes for the cores.

The server is a raw asyncio protocol (on uvloop when installed) in a process of its own,
so it outruns one Locust process; on a machine with two or more cores, the server and
Locust are pinned to different cores. Everything listens on and talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

LOCUSTFILE = """
import os
from pathlib import Path

from locust import FastHttpUser, constant, events, task


class TightLoop(FastHttpUser):
    wait_time = constant(0)

    @task
    def hit(self):
        self.client.get("/")


if os.environ.get("BENCH_RECORDER") == "1":
    from harness.load.hooks import attach

    @events.init.add_listener
    def _attach(environment, **_):
        attach(environment, Path(os.environ["BENCH_STATS"]))
"""

SERVER = """
import asyncio, sys

RESPONSE = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nContent-Type: text/plain\\r\\n\\r\\nok"


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.pending = b""

    def data_received(self, data):
        # GET requests carry no body: one answer per blank line that ends a header block.
        self.pending += data
        requests = self.pending.count(b"\\r\\n\\r\\n")
        if requests:
            self.pending = self.pending[self.pending.rindex(b"\\r\\n\\r\\n") + 4:]
            self.transport.write(RESPONSE * requests)


async def main():
    server = await asyncio.get_running_loop().create_server(Http, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()

try:
    import uvloop
    uvloop.run(main())
except ImportError:
    asyncio.run(main())
"""


@dataclass(frozen=True)
class Result:
    """One Locust run: requests counted by Locust, the seconds they took, CPU seconds used."""

    requests: int
    failures: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_rate(self) -> float:
        """Requests per CPU second of the Locust process: less sensitive to a busy machine."""
        return self.requests / self.cpu_seconds if self.cpu_seconds > 0 else 0.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pin(core: int | None) -> None:
    """Keep the calling process on one core (when the machine has several)."""
    if core is not None:
        os.sched_setaffinity(0, {core})


def wait_for_port(port: int, deadline: float) -> None:
    """Poll until something accepts connections on ``port``."""
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the benchmark server did not listen on port {port} in time")


def run_locust(workdir: Path, host: str, args: argparse.Namespace, recorder: bool) -> Result:
    """One headless Locust run; Locust's own totals, from its JSON output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["BENCH_RECORDER"] = "1" if recorder else "0"
    env["BENCH_STATS"] = str(workdir / f"stats-{time.monotonic_ns()}.jsonl")
    command = [
        sys.executable, "-m", "locust", "-f", str(workdir / "bench_locustfile.py"),
        "--headless", "--host", host, "--users", str(args.users),
        "--spawn-rate", str(args.users), "--run-time", f"{args.duration}s",
        "--only-summary", "--json", "--loglevel", "WARNING",
    ]  # fmt: skip
    core = 0 if args.pin else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: pin(core),
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=args.duration + 60)
    # communicate() reaped the child: its CPU time is now in the children's usage.
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1):
        raise RuntimeError(f"Locust failed ({process.returncode}):\n{stderr[-2000:]}")
    entries = json.loads(stdout)
    started = min(e["start_time"] for e in entries)
    ended = max(e["last_request_timestamp"] for e in entries)
    return Result(
        requests=sum(e["num_requests"] for e in entries),
        failures=sum(e["num_failures"] for e in entries),
        seconds=ended - started,
        cpu_seconds=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )


def main() -> int:
    """Run the benchmark and print the rates and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--users", type=int, default=10, help="Locust users")
    parser.add_argument("--rounds", type=int, default=3, help="plain/recorder pairs to run")
    args = parser.parse_args()
    args.pin = len(os.sched_getaffinity(0)) >= 2

    port = free_port()
    host = f"http://127.0.0.1:{port}"
    pairs: list[tuple[Result, Result]] = []
    with tempfile.TemporaryDirectory(prefix="bench-recorder-") as tmp:
        workdir = Path(tmp)
        (workdir / "bench_locustfile.py").write_text(LOCUSTFILE, encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port)],
            preexec_fn=lambda: pin(1 if args.pin else None),
        )
        try:
            wait_for_port(port, time.monotonic() + 10)
            for round_number in range(args.rounds):
                # Alternate the order, so a machine getting busier favours neither side.
                if round_number % 2 == 0:
                    plain = run_locust(workdir, host, args, recorder=False)
                    recorded = run_locust(workdir, host, args, recorder=True)
                else:
                    recorded = run_locust(workdir, host, args, recorder=True)
                    plain = run_locust(workdir, host, args, recorder=False)
                pairs.append((plain, recorded))
                print_pair(round_number + 1, plain, recorded)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print_summary(pairs)
    return 0


def print_pair(number: int, plain: Result, recorded: Result) -> None:
    """One round: both runs and their ratios."""
    ratio = recorded.rate / plain.rate
    cpu_ratio = recorded.cpu_rate / plain.cpu_rate
    print(
        f"round {number}: plain {plain.rate:6.0f} req/s ({plain.cpu_rate:6.0f} per CPU s), "
        f"with recorder {recorded.rate:6.0f} req/s ({recorded.cpu_rate:6.0f} per CPU s), "
        f"ratio {ratio:.3f} (per CPU s {cpu_ratio:.3f})"
    )
    for label, result in (("plain", plain), ("recorder", recorded)):
        if result.failures:
            print(f"  warning: {result.failures} failed requests in the {label} run")


def print_summary(pairs: list[tuple[Result, Result]]) -> None:
    """Mean rates and the median ratio over the rounds."""
    plain_rate = statistics.mean(p.rate for p, _ in pairs)
    recorded_rate = statistics.mean(r.rate for _, r in pairs)
    ratio = statistics.median(r.rate / p.rate for p, r in pairs)
    cpu_ratio = statistics.median(r.cpu_rate / p.cpu_rate for p, r in pairs)
    print(f"plain Locust:  {plain_rate:7.0f} req/s (mean of {len(pairs)})")
    print(f"with recorder: {recorded_rate:7.0f} req/s (mean of {len(pairs)})")
    print(f"ratio (with recorder / plain): {ratio:.3f}, per CPU second: {cpu_ratio:.3f}")
    print("goal: >= 0.95")


if __name__ == "__main__":
    sys.exit(main())
