"""Whole experiments in Docker, driven through the ``harness`` command as a user would.

Each run must leave no labelled container behind, and a harness killed outright must
leave nothing that ``harness clean`` does not remove.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.docker.conftest import labelled

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BOOKING = ROOT / "stack" / "booking"
# The issue asks for a stack ready within 15 s once the images exist (about 5-8 s on an
# idle 2-core machine, recorded in stack.json); the bound leaves room for a busy one.
READY_WITHIN = 30.0

GENTLE_LOAD = """
load:
  seed: 3
  think_time: {min: 0.2s, max: 0.6s}
  stages:
    - {duration: 14s, users: 8, spawn_rate: 8}
"""


def harness(*args: object) -> list[str]:
    return [sys.executable, "-m", "harness", *(str(a) for a in args)]


def env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "200"}


def docker_experiment(tmp_path: Path, name: str, body: str, stack: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\ndescription: docker test {name}\n"
        f"stack:\n  backend: docker\n{stack}  booking:\n    source: {BOOKING}\n"
        "    pool_size: 20\n    seats: 2000\n    replicas: 2\n" + body
    )
    return path


def only_run_dir(results: Path) -> Path:
    dirs = [p for p in results.iterdir() if p.is_dir()]
    assert len(dirs) == 1, dirs
    return dirs[0]


def run(argv: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=env(), check=False
    )


def test_the_smoke_experiment_passes_in_docker_within_the_ready_bound(
    tmp_path: Path, no_leftovers: Any
) -> None:
    results = tmp_path / "results"

    proc = run(
        harness("run", "--backend", "docker", ROOT / "experiments/smoke.yaml", "--results", results)
    )

    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    run_dir = only_run_dir(results)
    assert json.loads((run_dir / "verdict.json").read_text())["verdict"]["status"] == "pass"
    stack = json.loads((run_dir / "stack.json").read_text())
    assert stack["backend"] == "docker"
    assert 0 < stack["ready_seconds"] < READY_WITHIN, stack
    assert set(stack["containers"]) == {"postgres", "toxiproxy", "booking-1"}
    assert all(c["status"] == "exited" for c in stack["containers"].values()), stack
    for service in ("postgres", "toxiproxy", "booking-1", "booking-init-db"):
        assert (run_dir / "logs" / f"{service}.log").stat().st_size > 0, service
    assert "ready: the database answers" in (run_dir / "logs/booking-1.log").read_text()


def test_the_database_proxy_down_in_docker_fails_the_run(tmp_path: Path, no_leftovers: Any) -> None:
    path = docker_experiment(
        tmp_path,
        "docker-db-down",
        GENTLE_LOAD + "faults:\n  - {name: db-down, type: down, proxy: postgres, at: 4s, "
        "duration: 4s}\n",
    )
    results = tmp_path / "results"

    proc = run(harness("run", path, "--results", results))

    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdict = json.loads((only_run_dir(results) / "verdict.json").read_text())
    assert verdict["verdict"]["status"] == "fail"
    failed = {o["sli"] for o in verdict["verdict"]["objectives"] if o["status"] == "fail"}
    assert "availability" in failed
    events = [e for e in verdict["fault_events"] if e["fault"] == "db-down"]
    assert [(e["action"], e["ok"]) for e in events] == [("apply", True), ("remove", True)]


def test_a_paused_replica_container_is_felt_and_restarted_by_the_supervisor(
    tmp_path: Path, no_leftovers: Any
) -> None:
    path = docker_experiment(
        tmp_path,
        "docker-freeze",
        GENTLE_LOAD + "faults:\n  - {name: freeze, type: pause, replicas: [booking-1], "
        "at: 2s, duration: 8s}\n",
        stack="  supervisor: {interval: 0.5s, failure_threshold: 2, initial_delay: 3s}\n",
    )
    results = tmp_path / "results"

    proc = run(harness("run", path, "--results", results))

    output = proc.stdout + proc.stderr
    verdict = json.loads((only_run_dir(results) / "verdict.json").read_text())
    apply = next(e for e in verdict["fault_events"] if e["action"] == "apply")
    assert apply["ok"] and apply["evidence"]["ok"], output
    assert {r["replica"] for r in verdict["restarts"]} == {"booking-1"}, output
    containers = verdict["stack"]["containers"]
    assert containers["booking-1"]["actions"]["pause"] == 1
    assert containers["booking-1"]["actions"]["restart"] >= 1
    assert containers["booking-2"]["actions"] == {}
    assert verdict["stack"]["replica_restarts"]["booking-1"] >= 1
    assert verdict["verdict"]["integrity"]["ok"] is True


def test_ctrl_c_in_the_middle_of_a_docker_run_removes_every_container(
    tmp_path: Path, no_leftovers: Any
) -> None:
    path = docker_experiment(tmp_path, "interrupted", GENTLE_LOAD.replace("14s", "90s"))
    results = tmp_path / "results"
    proc = subprocess.Popen(
        harness("run", path, "--results", results),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    try:
        _wait_for_requests(results, proc, deadline=time.monotonic() + 90)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert proc.returncode == 130, output
    run_dir = only_run_dir(results)
    assert (run_dir / "logs" / "booking-1.log").stat().st_size > 0
    stack = json.loads((run_dir / "stack.json").read_text())
    assert {c["status"] for c in stack["containers"].values()} == {"exited"}


def test_harness_clean_removes_what_a_killed_harness_left_in_docker(
    tmp_path: Path, docker_client: Any
) -> None:
    before = set(labelled(docker_client))
    path = docker_experiment(tmp_path, "killed", GENTLE_LOAD.replace("14s", "90s"))
    results = tmp_path / "results"
    proc = subprocess.Popen(
        harness("run", path, "--results", results),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env(),
    )
    try:
        _wait_for_requests(results, proc, deadline=time.monotonic() + 90)
        # The harness's own children (Locust) run in sessions of their own: end them
        # too, as a lost machine would, so only Docker's containers are left.
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for child in children:
            child.kill()
        left = set(labelled(docker_client)) - before
        assert any(name.endswith("-booking-1") for name in left), left

        cleaned = run(harness("clean"), timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()

    assert cleaned.returncode == 0, cleaned.stdout + cleaned.stderr
    for name in left:
        assert f"removed container {name}" in " ".join(cleaned.stdout.split())
    assert set(labelled(docker_client)) - before == set()


def _wait_for_requests(results: Path, proc: subprocess.Popen[Any], deadline: float) -> None:
    """Until the run's recorder has written its first requests."""
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the harness ended before the load started"
        for stats in results.glob("*/load-stats.jsonl"):
            if '"kind":"request"' in stats.read_text():
                return
        time.sleep(0.1)
    raise AssertionError("the load never started")


def test_a_docker_stack_kept_up_for_a_game_day_serves_a_run_and_goes_down(
    tmp_path: Path, no_leftovers: Any
) -> None:
    path = docker_experiment(tmp_path, "gameday", GENTLE_LOAD.replace("14s", "6s"))
    results = tmp_path / "results"
    state = results / "stacks" / "gd" / "state.json"
    owner = subprocess.Popen(
        harness("stack", "up", path, "--name", "gd", "--results", results),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env(),
    )
    try:
        deadline = time.monotonic() + 120
        while not state.exists():
            assert owner.poll() is None, owner.communicate()[0]
            assert time.monotonic() < deadline, "the Docker stack did not come up"
            time.sleep(0.2)
        during = labelled(no_leftovers)
        result = run(harness("run", path, "--stack", "gd", "--results", results))
        down = run(harness("stack", "down", "gd", "--results", results))
        owner.communicate(timeout=120)
    finally:
        if owner.poll() is None:
            owner.kill()

    assert len(during) >= 4  # postgres, toxiproxy, two booking replicas
    assert result.returncode == 0, result.stdout + result.stderr
    assert down.returncode == 0, down.stdout + down.stderr
    assert owner.returncode == 0
    assert labelled(no_leftovers) == []
