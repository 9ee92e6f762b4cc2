"""Replicas behind the balancer, replica faults, the supervisor's restarts, stack metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BOOKING = Path(__file__).resolve().parents[2] / "stack" / "booking"


def run(tmp_path: Path, body: str) -> tuple[int, str, Path]:
    path = tmp_path / "replicas.yaml"
    path.write_text(
        "name: replicas\ndescription: replica faults\n"
        f"stack:\n  booking: {{source: {BOOKING}, pool_size: 10, seats: 2000, replicas: 2}}\n"
        "  supervisor: {interval: 0.5s, failure_threshold: 2, initial_delay: 3s}\n"
        "load:\n  seed: 3\n  think_time: {min: 0.2s, max: 0.5s}\n"
        "  stages: [{duration: 14s, users: 6, spawn_rate: 6}]\n" + body
    )
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(path), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    (run_dir,) = [p for p in results.iterdir() if p.is_dir()]
    return proc.returncode, proc.stdout + proc.stderr, run_dir


def test_a_paused_replica_is_felt_and_restarted_by_the_supervisor(tmp_path: Path) -> None:
    _, output, run_dir = run(
        tmp_path,
        """
faults:
  - {name: freeze, type: pause, replicas: [booking-1], at: 2s, duration: 9s}
""",
    )

    verdict = json.loads((run_dir / "verdict.json").read_text())
    events = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    apply = next(e for e in events if e["action"] == "apply")
    assert apply["ok"] and apply["evidence"]["ok"], output
    assert json.loads(apply["detail"]) == {"replicas": ["booking-1"]}
    restarted = [r["replica"] for r in verdict["restarts"]]
    assert "booking-1" in restarted, output
    assert "booking-2" not in restarted
    sources = {
        json.loads(line)["source"]
        for line in (run_dir / "stack-metrics.jsonl").read_text().splitlines()
    }
    assert sources == {"booking-1", "booking-2"}
    summary = verdict["stack_metrics"]["replicas"]["booking-1"]
    assert summary["down"] > 0  # scrapes while it was frozen
    assert verdict["verdict"]["integrity"]["ok"] is True


def test_a_killed_replica_leaves_the_other_serving(tmp_path: Path) -> None:
    _, output, run_dir = run(
        tmp_path,
        """
faults:
  - {name: kill-one, type: kill, count: 1, at: 3s, duration: 6s}
objectives:
  - {sli: availability, min: 90, phase: recovery}
""",
    )

    verdict = json.loads((run_dir / "verdict.json").read_text())
    events = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    assert [(e["action"], e["ok"]) for e in events] == [("apply", True), ("remove", True)]
    assert events[0]["evidence"]["ok"] is True
    recovery = next(p for p in verdict["phases"] if p["name"] == "recovery")
    assert recovery["requests"] > 0
    assert verdict["verdict"]["objectives"][0]["status"] == "pass", output
