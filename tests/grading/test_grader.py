"""Grading a whole run from recorder lines: phases, objectives and the verdict."""

from __future__ import annotations

from types import SimpleNamespace

from harness.experiment import load_experiment_text
from harness.faults.timeline import FaultEvent
from harness.grading.grader import grade_run
from harness.grading.integrity import IntegrityReport
from harness.load.recorder import ATTEMPT, COMPLETED, Recorder
from harness.load.stats import parse_lines

T0 = 1_000_000.0

EXPERIMENT = load_experiment_text("""
name: graded
description: grading test
load:
  stages: [{duration: 20s, users: 5, spawn_rate: 5}]
faults:
  - {name: slow, type: latency, at: 5s, duration: 5s, attributes: {latency: 100}}
""")


def stats(slow_from: float = 5, slow_to: float = 10, slow_ms: float = 900):
    """20 s of 10 requests a second at 20 ms, slow during [slow_from, slow_to)."""
    recorder = Recorder(clock=lambda: T0 + 100)
    ok = SimpleNamespace(status_code=200)
    for second in range(20):
        for i in range(10):
            ms = slow_ms if slow_from <= second < slow_to else 20.0
            recorder.on_request("browse", ms, start_time=T0 + second + i / 10, response=ok)
        recorder.on_journey(stage=ATTEMPT, start_time=T0 + second)
        recorder.on_journey(stage=COMPLETED, start_time=T0 + second, booking_id=f"b{second}")
    return parse_lines(recorder.drain_all())


def events(evidence_ok: bool = True) -> list[FaultEvent]:
    evidence = {"ok": evidence_ok, "method": "probe", "detail": "seen"}
    return [
        FaultEvent(T0 + 5, 5, "slow", "apply", True, "", evidence),
        FaultEvent(T0 + 10, 10, "slow", "remove", True, "", None),
    ]


def integrity() -> IntegrityReport:
    return IntegrityReport(checked=True, violations={"capacity_mismatch": 0}, acknowledged=20)


def test_phases_split_the_run_at_the_fault_window() -> None:
    result = grade_run(
        EXPERIMENT, stats(), t0=T0, t_end=T0 + 20, integrity=integrity(), fault_events=events()
    )

    phases = {p["name"]: p for p in result["phases"]}
    assert {n: p["requests"] for n, p in phases.items()} == {
        "run": 200,
        "baseline": 50,
        "fault:slow": 50,
        "recovery": 100,
    }
    assert phases["fault:slow"]["slis"]["latency_p95"] > 800
    assert phases["baseline"]["slis"]["latency_p95"] < 30


def test_a_slow_quarter_of_the_run_fails_p95_over_the_run() -> None:
    result = grade_run(
        EXPERIMENT, stats(), t0=T0, t_end=T0 + 20, integrity=integrity(), fault_events=events()
    )

    verdict = result["verdict"]
    assert verdict["status"] == "fail"
    failed = [o["sli"] for o in verdict["objectives"] if o["status"] == "fail"]
    assert failed == ["latency_p95"]


def test_a_fault_not_seen_to_take_effect_makes_a_passing_run_inconclusive() -> None:
    fast = stats(slow_ms=20)

    proven = grade_run(
        EXPERIMENT,
        fast,
        t0=T0,
        t_end=T0 + 20,
        integrity=integrity(),
        fault_events=events(evidence_ok=True),
    )
    unproven = grade_run(
        EXPERIMENT,
        fast,
        t0=T0,
        t_end=T0 + 20,
        integrity=integrity(),
        fault_events=events(evidence_ok=False),
    )

    assert proven["verdict"]["status"] == "pass"
    assert unproven["verdict"]["status"] == "inconclusive"
    assert unproven["verdict"]["faults_missing"] == ["slow"]


def test_an_integrity_violation_fails_a_run_whose_slos_pass() -> None:
    broken = IntegrityReport(checked=True, violations={"seat_sold_to_other_hold": 2})

    result = grade_run(
        EXPERIMENT, stats(slow_ms=20), t0=T0, t_end=T0 + 20, integrity=broken, fault_events=events()
    )

    assert result["verdict"]["status"] == "fail"
    assert "sold twice" in result["verdict"]["reason"]


PHASED = load_experiment_text("""
name: phased
description: phase-aware objectives
load:
  stages: [{duration: 20s, users: 5, spawn_rate: 5}]
faults:
  - {name: slow, type: latency, at: 5s, duration: 5s, attributes: {latency: 100}}
objectives:
  - {sli: latency_p95, max: 500, phase: baseline}
  - {sli: latency_p95, max: 500, phase: during}
  - {sli: latency_p95, max: 500, phase: recovery}
  - {sli: latency_p95, max: 1000, phase: fault:slow}
  - {sli: recovery_time, max: 3, phase: recovery}
""")


def test_each_objective_is_graded_over_its_own_phase() -> None:
    result = grade_run(
        PHASED, stats(), t0=T0, t_end=T0 + 20, integrity=integrity(), fault_events=events()
    )

    graded = [(o["phase"], o["sli"], o["status"]) for o in result["verdict"]["objectives"]]
    assert graded == [
        ("baseline", "latency_p95", "pass"),
        ("during", "latency_p95", "fail"),
        ("recovery", "latency_p95", "pass"),
        ("fault:slow", "latency_p95", "pass"),
        ("recovery", "recovery_time", "pass"),
    ]


def test_recovery_time_counts_from_the_fault_end_to_a_stable_healthy_stretch() -> None:
    # Still slow for 4 s after the fault ended at 10 s: healthy again from 14 s.
    result = grade_run(
        PHASED,
        stats(slow_to=14),
        t0=T0,
        t_end=T0 + 20,
        integrity=integrity(),
        fault_events=events(),
    )

    recovery = result["verdict"]["objectives"][-1]
    assert recovery["actual"] == 4
    assert recovery["status"] == "fail"  # objective: < 3 s


def test_a_service_that_never_recovers_gets_the_rest_of_the_run() -> None:
    result = grade_run(
        PHASED,
        stats(slow_to=20),
        t0=T0,
        t_end=T0 + 20,
        integrity=integrity(),
        fault_events=events(),
    )

    assert result["verdict"]["objectives"][-1]["actual"] == 10
