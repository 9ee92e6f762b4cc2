"""The supervisor restarts a replica after consecutive failed liveness probes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.backends.supervisor import Supervisor
from harness.experiment.model import SupervisorSpec


class Live(BaseHTTPRequestHandler):
    healthy: dict[int, bool] = {}

    def do_GET(self) -> None:
        ok = Live.healthy.get(self.server.server_address[1], True)
        self.send_response(200 if ok else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replicas() -> Iterator[dict[str, str]]:
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Live) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {
        f"booking-{i + 1}": f"http://127.0.0.1:{s.server_address[1]}" for i, s in enumerate(servers)
    }
    for server in servers:
        server.shutdown()
        server.server_close()


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_a_failing_replica_is_restarted_and_the_healthy_one_left_alone(
    replicas: dict[str, str], tmp_path: Path
) -> None:
    sick_port = int(replicas["booking-1"].rsplit(":", 1)[1])
    Live.healthy = {sick_port: False}
    restarted: list[str] = []

    def restart(name: str) -> None:
        restarted.append(name)
        Live.healthy[sick_port] = True  # the restart cured it

    spec = SupervisorSpec(interval=0.05, timeout=0.5, failure_threshold=3, initial_delay=0.2)
    with Supervisor(spec, lambda: replicas, restart, tmp_path / "restarts.jsonl") as supervisor:
        wait_for(lambda: restarted)
        time.sleep(0.3)  # a few more probe rounds: the cured replica must not restart again

    assert restarted == ["booking-1"]
    assert [r.replica for r in supervisor.restarts] == ["booking-1"]
    line = json.loads((tmp_path / "restarts.jsonl").read_text())
    assert line["replica"] == "booking-1" and line["failures"] == 3


def test_a_disabled_supervisor_restarts_nothing(replicas: dict[str, str], tmp_path: Path) -> None:
    Live.healthy = {int(u.rsplit(":", 1)[1]): False for u in replicas.values()}
    restarted: list[str] = []
    spec = SupervisorSpec(enabled=False, interval=0.05, failure_threshold=1)

    with Supervisor(spec, lambda: replicas, restarted.append, tmp_path / "r.jsonl"):
        time.sleep(0.3)

    assert restarted == []
