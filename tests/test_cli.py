"""The ``harness`` command: validate, plan, --version, and their exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))
BAD = REPO / "tests" / "experiment" / "bad"

Cli = Callable[..., Any]


def test_validate_accepts_every_shipped_experiment(run_cli: Cli) -> None:
    assert EXPERIMENTS

    result = run_cli("validate", *EXPERIMENTS)

    assert result.code == 0
    for path in EXPERIMENTS:
        assert f"valid {path}" in result.text
    assert "invalid" not in result.text


def test_validate_refuses_a_bad_file_with_exit_2(run_cli: Cli) -> None:
    bad = BAD / "unknown-proxy.yaml"

    result = run_cli("validate", bad)

    assert result.code == 2
    assert f"invalid {bad}" in result.text
    assert f"{bad}:9:" in result.text
    assert "faults[0].proxy: unknown proxy 'redis'" in result.text


def test_validate_reports_every_file_even_after_a_bad_one(run_cli: Cli) -> None:
    bad = BAD / "duplicate-key.yaml"

    result = run_cli("validate", bad, EXPERIMENTS[0])

    assert result.code == 2
    assert f"invalid {bad}" in result.text
    assert f"valid {EXPERIMENTS[0]}" in result.text


def test_validate_a_missing_file_is_exit_2(run_cli: Cli, tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "nope.yaml")

    assert result.code == 2
    assert "cannot read the file" in result.text


def test_plan_prints_stages_faults_phases_and_objectives(run_cli: Cli) -> None:
    result = run_cli("plan", REPO / "experiments" / "concert-release.yaml")

    assert result.code == 0
    text = result.text
    assert "load: 1m30s (closed model, users)" in text
    assert "20s +50s 120 users (spawn 20/s)" in text
    assert "35s-1m5s db-latency: latency on postgres downstream toxicity 1" in text
    assert "latency=150, jitter=20" in text
    for phase in (
        "run 0s-1m30s",
        "baseline 0s-35s",
        "fault:db-latency 35s-1m5s",
        "recovery 1m5s-1m30s",
    ):
        assert phase in text
    assert "availability >= 99.9 % in phase run" in text
    assert "latency_p95 < 500 ms in phase run" in text


def test_plan_without_faults_says_so(run_cli: Cli, tmp_path: Path) -> None:
    experiment = tmp_path / "calm.yaml"
    experiment.write_text(
        "name: calm\ndescription: Is a calm run calm?\n"
        "load:\n  stages:\n    - {duration: 30s, users: 2, spawn_rate: 1}\n"
        "objectives:\n  - {sli: throughput, min: 1}\n"
    )

    result = run_cli("plan", experiment)

    assert result.code == 0
    assert "faults: none" in result.text
    assert "phases: run 0s-30s objectives:" in result.text
    assert "throughput >= 1 req/s in phase run" in result.text


def test_plan_of_a_bad_file_is_exit_2_on_stderr(run_cli: Cli) -> None:
    bad = BAD / "fault-past-end.yaml"

    result = run_cli("plan", bad)

    assert result.code == 2
    assert result.out == ""
    assert "invalid experiment" in result.err
    assert f"{bad}:10:" in " ".join(result.err.split())


def test_version_prints_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])

    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"harness {__version__}"


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["validate"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)

    assert caught.value.code == 2
    assert "usage: harness" in capsys.readouterr().err


def test_an_unexpected_error_is_reported_as_a_bug_with_exit_2(
    run_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.run

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(harness.run, "run_experiment", broken)
    result = run_cli("run", REPO / "experiments" / "smoke.yaml", "--results", "/nonexistent")

    assert result.code == 2
    assert "internal error" in result.text
    assert "boom" in result.text
