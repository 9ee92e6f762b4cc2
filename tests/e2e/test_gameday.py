"""Game days: a stack kept up by `harness stack up`, experiments run against it, then down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

BOOKING = Path(__file__).resolve().parents[2] / "stack" / "booking"
EXPERIMENT = f"""\
name: gameday
description: game day against a kept-up stack
stack: {{booking: {{source: {BOOKING}, pool_size: 10, seats: 2000, replicas: 2}}}}
load:
  seed: 1
  think_time: {{min: 0.2s, max: 0.5s}}
  stages: [{{duration: 8s, users: 5, spawn_rate: 5}}]
faults:
  - {{name: kill-two, type: kill, replicas: [booking-2], at: 2s, duration: 4s}}
objectives:
  - {{sli: availability, min: 90}}
"""


def harness(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_a_kept_up_stack_serves_two_experiments_and_goes_down(tmp_path: Path) -> None:
    path = tmp_path / "gameday.yaml"
    path.write_text(EXPERIMENT)
    results = tmp_path / "results"
    state = results / "stacks" / "gd" / "state.json"
    owner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "stack",
            "up",
            str(path),
            "--name",
            "gd",
            "--results",
            str(results),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not state.exists():
            assert owner.poll() is None, owner.communicate()[0]
            assert time.monotonic() < deadline, "the stack did not come up"
            time.sleep(0.1)
        urls = json.loads(state.read_text())["replicas"]

        status = harness("stack", "status", "--results", str(results))
        first = harness("run", str(path), "--stack", "gd", "--results", str(results))
        second = harness("run", str(path), "--stack", "gd", "--results", str(results))
        still_up = harness("stack", "status", "gd", "--results", str(results))
        down = harness("stack", "down", "gd", "--results", str(results))
        output, _ = owner.communicate(timeout=60)
    finally:
        if owner.poll() is None:
            owner.kill()

    assert status.returncode == 0 and "gd: booking ready" in " ".join(status.stdout.split())
    for run in (first, second):
        assert run.returncode == 0, run.stdout + run.stderr
    verdicts = sorted(results.glob("*-gameday/verdict.json"))
    assert len(verdicts) == 2
    verdict = json.loads(verdicts[0].read_text())
    assert verdict["stack"]["backend"] == "attached"
    kill = next(e for e in verdict["fault_events"] if e["action"] == "apply")
    assert kill["ok"] and kill["evidence"]["ok"]
    assert still_up.returncode == 0
    assert down.returncode == 0, down.stdout + down.stderr
    assert owner.returncode == 0, output
    assert not state.exists()
    assert "stack gd taken down" in output
    ports = {int(u.rsplit(":", 1)[1]) for u in urls.values()}
    listening = {
        c.laddr.port for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
    }
    assert not ports & listening


def test_running_against_a_stack_that_is_not_up_says_which_are(tmp_path: Path) -> None:
    path = tmp_path / "gameday.yaml"
    path.write_text(EXPERIMENT)

    run = harness("run", str(path), "--stack", "nope", "--results", str(tmp_path / "r"))

    assert run.returncode == 2
    assert "no stack 'nope' is up (stacks up: none)" in " ".join(run.stderr.split())
