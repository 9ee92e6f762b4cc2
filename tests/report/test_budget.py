"""Error budgets per objective, and burn-rate alerts on the run's scaled windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.report.budget import (
    ALERTS,
    Budget,
    allowed_share,
    budgets,
    evaluate_alert,
    format_duration_long,
)
from harness.report.model import ObjectiveView, load_run

from .runs import Load, make_run

FAST, SLOW = ALERTS


def objective(sli: str, target: str, bound: float, actual: float | None = None) -> ObjectiveView:
    return ObjectiveView(sli, "run", None, target, bound, "%", actual, "pass", None)


@pytest.mark.parametrize(
    ("sli", "target", "bound", "allowed"),
    [
        ("availability", ">= 99.9 %", 99.9, 0.1),
        ("error_rate", "< 0.1 %", 0.1, 0.1),
        ("successful_bookings", ">= 99.5 %", 99.5, 0.5),
        ("latency_p95", "< 500 ms", 500.0, 5.0),
        ("latency_p99", "< 900 ms", 900.0, 1.0),
        ("throughput", ">= 50 req/s", 50.0, None),
    ],
)
def test_each_objective_allows_its_share_of_bad_events(
    sli: str, target: str, bound: float, allowed: float | None
) -> None:
    assert allowed_share(objective(sli, target, bound)) == pytest.approx(allowed)


def test_burn_rate_and_the_share_of_a_month_spent() -> None:
    budget = Budget(objective("availability", ">= 99.9 %", 99.9), 0.1, 1.44, seconds=3600)

    assert budget.burn_rate == pytest.approx(14.4)
    assert budget.consumed == pytest.approx(0.02)  # the fast alert's 2 % in one hour
    assert budget.lasts_seconds == pytest.approx(30 * 86400 / 14.4)


def test_windows_are_scaled_to_the_run_read_as_twelve_hours() -> None:
    ninety = [0] * 90

    fast = evaluate_alert(FAST, ninety, [10] * 90, 0.1)
    slow = evaluate_alert(SLOW, ninety, [10] * 90, 0.1)

    assert (fast.long_window, fast.short_window) == (8, 1)
    assert (slow.long_window, slow.short_window) == (45, 4)
    assert fast.fired is False and slow.fired is False


def test_a_burst_burning_fast_fires_the_fast_alert_only() -> None:
    total = [100] * 360
    bad = [0] * 360
    for second in range(100, 140):  # 40 s of 20 % failures, budget 1 %: 20x
        bad[second] = 20

    fast = evaluate_alert(FAST, bad, total, 1.0)
    slow = evaluate_alert(SLOW, bad, total, 1.0)

    assert fast.fired and fast.first_fired_at is not None
    assert 100 < fast.first_fired_at <= 140
    assert slow.fired is False  # at most 40 s of a 180 s window at 20x: 4.4x


def test_a_sustained_burn_fires_both_alerts() -> None:
    total, bad = [100] * 360, [20] * 360

    assert all(evaluate_alert(a, bad, total, 1.0).fired for a in ALERTS)


def test_budgets_of_a_run_come_from_its_per_second_statistics(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, Load(fail_share=0.5)))

    found = {b.objective.sli: b for b in budgets(run.result, run.stats())}

    # A third of the run at 50 % failures: 16.7 % bad against 0.1 % allowed.
    assert found["availability"].bad == pytest.approx(100 / 6, rel=1e-3)
    assert found["availability"].burn_rate == pytest.approx(1000 / 6, rel=1e-3)
    assert all(a.fired for a in found["availability"].alerts)
    assert found["latency_p95"].bad == pytest.approx(100 / 6, rel=1e-3)
    assert found["successful_bookings"].bad == 0


def test_without_statistics_the_budget_comes_from_the_verdict(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, Load(fail_share=0.5)))

    found = {b.objective.sli: b for b in budgets(run.result, None)}

    assert found["availability"].bad == pytest.approx(100 / 6, rel=1e-3)
    assert found["availability"].alerts == ()
    assert found["latency_p95"].bad is None
    assert "load-stats.jsonl" in found["latency_p95"].note


def test_durations_read_roughly() -> None:
    assert format_duration_long(90) == "90 s"
    assert format_duration_long(5400) == "90 min"
    assert format_duration_long(36000) == "10.0 h"
    assert format_duration_long(30 * 86400) == "30 days"
    assert format_duration_long(None) == "forever"
