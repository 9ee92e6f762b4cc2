"""Grading objectives and deciding a run's verdict."""

from __future__ import annotations

import json

import pytest

from harness.experiment.model import SLI, Objective
from harness.grading.slis import WindowCounts
from harness.grading.verdict import ObjectiveResult, Status, Verdict, decide, grade_objective


def window(ok: int, failed: int = 0, p95: float = 100.0) -> WindowCounts:
    return WindowCounts(
        seconds=10.0,
        requests=ok + failed,
        outcomes={"ok": ok, "server_error": failed},
        booking_attempts=0,
        bookings_completed=0,
        latency_ms=lambda p: p95 if p == 95.0 else None,
    )


NO_DATA = WindowCounts(10.0, 0, {}, 0, 0, lambda _p: None)


def result(status: Status, sli: str = "availability") -> ObjectiveResult:
    return ObjectiveResult(
        sli=sli,
        phase="run",
        endpoint=None,
        target=">= 99.9 %",
        bound=99.9,
        unit="%",
        actual=None if status is Status.inconclusive else 99.0,
        status=status,
        margin=None,
    )


AVAILABILITY = Objective(sli=SLI.availability, min=99.9)
P95 = Objective(sli=SLI.latency_p95, max=500)


def test_min_objective_passes_at_exactly_its_bound() -> None:
    graded = grade_objective(AVAILABILITY, window(ok=999, failed=1))

    assert graded.actual == pytest.approx(99.9)
    assert graded.status is Status.passed


def test_min_objective_fails_below_its_bound_with_a_negative_margin() -> None:
    graded = grade_objective(AVAILABILITY, window(ok=998, failed=2))

    assert graded.status is Status.failed
    assert graded.margin == pytest.approx(-0.1)


def test_min_objective_margin_is_positive_with_headroom() -> None:
    graded = grade_objective(AVAILABILITY, window(ok=1000))

    assert graded.status is Status.passed
    assert graded.margin == pytest.approx(0.1)
    assert graded.phase == "run"


def test_max_objective_fails_at_exactly_its_bound() -> None:
    graded = grade_objective(P95, window(ok=10, p95=500.0))

    assert graded.status is Status.failed
    assert graded.margin == 0.0


def test_max_objective_passes_below_its_bound_with_a_positive_margin() -> None:
    graded = grade_objective(P95, window(ok=10, p95=420.0))

    assert graded.status is Status.passed
    assert graded.margin == pytest.approx(80.0)


def test_max_objective_margin_is_negative_when_exceeded() -> None:
    graded = grade_objective(P95, window(ok=10, p95=2300.0))

    assert graded.status is Status.failed
    assert graded.margin == pytest.approx(-1800.0)


def test_objective_without_data_is_inconclusive() -> None:
    graded = grade_objective(AVAILABILITY, NO_DATA)

    assert graded.status is Status.inconclusive
    assert (graded.actual, graded.margin) == (None, None)
    assert graded.actual_text == "no data"


def test_graded_objective_carries_its_target_unit_and_phase() -> None:
    during = P95.model_copy(update={"phase": "fault:db"})
    graded = grade_objective(during, window(ok=10, p95=123.45))

    assert (graded.sli, graded.phase, graded.target, graded.bound, graded.unit) == (
        "latency_p95",
        "fault:db",
        "< 500 ms",
        500,
        "ms",
    )
    assert graded.actual_text == "123.5 ms"


def test_percentages_print_with_three_decimals() -> None:
    graded = grade_objective(AVAILABILITY, window(ok=9421, failed=579))

    assert graded.actual_text == "94.210 %"


def test_all_passed_is_a_pass() -> None:
    status, reason = decide(
        [result(Status.passed), result(Status.passed)],
        integrity_ok=True,
        integrity_summary="",
        faults_missing=[],
    )

    assert status is Status.passed
    assert reason == "all 2 objectives met"


def test_aborted_wins_over_everything() -> None:
    status, reason = decide(
        [result(Status.failed), result(Status.inconclusive)],
        integrity_ok=False,
        integrity_summary="3 seats sold twice",
        faults_missing=["db-latency"],
        aborted="interrupted by Ctrl-C",
    )

    assert status is Status.aborted
    assert "interrupted by Ctrl-C" in reason


def test_integrity_violation_wins_over_failed_objectives() -> None:
    status, reason = decide(
        [result(Status.failed)],
        integrity_ok=False,
        integrity_summary="3 seats sold twice",
        faults_missing=["db-latency"],
    )

    assert status is Status.failed
    assert reason == "integrity violated: 3 seats sold twice"


def test_failed_objectives_win_over_missing_faults() -> None:
    status, reason = decide(
        [result(Status.passed), result(Status.failed, sli="error_rate")],
        integrity_ok=True,
        integrity_summary="",
        faults_missing=["db-latency"],
    )

    assert status is Status.failed
    assert reason.startswith("1 of 2 objectives failed: error_rate 99.000 %")


def test_missing_fault_makes_a_passing_run_inconclusive() -> None:
    status, reason = decide(
        [result(Status.passed)],
        integrity_ok=True,
        integrity_summary="",
        faults_missing=["db-latency"],
    )

    assert status is Status.inconclusive
    assert "db-latency did not take effect" in reason


def test_missing_faults_are_named_before_missing_data() -> None:
    status, reason = decide(
        [result(Status.inconclusive)],
        integrity_ok=True,
        integrity_summary="",
        faults_missing=["db-latency"],
    )

    assert status is Status.inconclusive
    assert "db-latency" in reason


def test_objective_without_data_makes_the_run_inconclusive() -> None:
    status, reason = decide(
        [result(Status.passed), result(Status.inconclusive, sli="successful_bookings")],
        integrity_ok=True,
        integrity_summary="",
        faults_missing=[],
    )

    assert status is Status.inconclusive
    assert reason == "no data to judge successful_bookings"


def test_verdict_json_is_plain_data() -> None:
    verdict = Verdict(Status.failed, "because", [result(Status.failed)], faults_missing=["x"])

    data = json.loads(json.dumps(verdict.to_json()))

    assert data["status"] == "fail"
    assert data["objectives"][0]["status"] == "fail"
    assert data["faults_missing"] == ["x"]
