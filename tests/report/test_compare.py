"""Comparing runs: tolerance rules, direction of "worse", the verdict and its renderings."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.report.compare import (
    Tolerance,
    compare,
    compare_paths,
    parse_tolerance,
    render_compare_console,
    render_compare_html,
    tolerance_for,
)
from harness.report.model import ReportError, load_run

from .runs import Load, make_run


def runs(tmp_path: Path, baseline: Load, candidate: Load) -> tuple[Path, Path]:
    return make_run(tmp_path / "a", baseline), make_run(tmp_path / "b", candidate)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latency_p95=10%", Tolerance("latency_p95", None, 10.0, relative=True)),
        ("availability=0.05", Tolerance("availability", None, 0.05)),
        ("latency_p99@fault:db-latency=250", Tolerance("latency_p99", "fault:db-latency", 250.0)),
        ("*=5%", Tolerance("*", None, 5.0, relative=True)),
        ("throughput=off", Tolerance("throughput", None, None)),
    ],
)
def test_tolerance_rules_parse(text: str, expected: Tolerance) -> None:
    assert parse_tolerance(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latency_p95", "expected SLI"),
        ("latency_p96=10%", "unknown SLI 'latency_p96'"),
        ("availability=-1", "must be a number >= 0"),
        ("availability=lots", "must be a number >= 0"),
    ],
)
def test_bad_tolerance_rules_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        parse_tolerance(text)


def test_the_most_specific_rule_wins() -> None:
    rules = [parse_tolerance(t) for t in ("*=1%", "latency_p95=5%", "latency_p95@recovery=50")]

    assert str(tolerance_for("latency_p95", "recovery", rules)) == "50"
    assert str(tolerance_for("latency_p95", "baseline", rules)) == "5%"
    assert str(tolerance_for("throughput", "baseline", rules)) == "1%"
    assert str(tolerance_for("latency_p95", "run", [])) == "10%"  # the default


def test_slower_latency_beyond_tolerance_is_a_regression(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(slow_ms=600), Load(slow_ms=900))

    result = compare(load_run(a).result, load_run(b).result)

    regressed = {(r.phase, r.sli) for r in result.regressions}
    assert ("fault:db-latency", "latency_p95") in regressed
    assert ("baseline", "latency_p95") not in regressed
    assert result.regressed


def test_a_generous_tolerance_accepts_the_same_change(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(slow_ms=600), Load(slow_ms=900))
    rules = [parse_tolerance("latency_p50=60%"), parse_tolerance("latency_p95=60%")]
    rules.append(parse_tolerance("latency_p99=60%"))

    assert not compare(load_run(a).result, load_run(b).result, rules).regressed


def test_lower_availability_is_worse_and_higher_is_better(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(fail_share=0.0), Load(fail_share=0.1))
    base, cand = load_run(a).result, load_run(b).result

    worse = compare(base, cand, [parse_tolerance("availability=0.05")])
    better = compare(cand, base, [parse_tolerance("availability=0.05")])

    assert ("run", "availability") in {(r.phase, r.sli) for r in worse.regressions}
    assert not any(r.sli == "availability" for r in better.regressions)


def test_the_same_run_does_not_regress(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(), Load())

    result = compare(load_run(a).result, load_run(b).result, [parse_tolerance("*=0")])

    assert not result.regressed and result.rows


def test_a_saved_baseline_file_compares_like_a_folder(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(slow_ms=600), Load(slow_ms=900))
    saved = tmp_path / "baseline-replay.json"
    saved.write_text((a / "verdict.json").read_text())

    baseline = load_run(saved)
    result = compare(baseline.result, load_run(b).result)

    assert baseline.standalone and baseline.stats() is None
    assert result.regressed


def test_phases_only_one_run_has_are_noted(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(fault=None), Load())

    result = compare(load_run(a).result, load_run(b).result)

    assert "phase fault:db-latency is only in the candidate" in result.notes


def test_the_terminal_and_html_renderings_name_the_regression(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(slow_ms=600), Load(slow_ms=900))
    result = compare(load_run(a).result, load_run(b).result)
    out = io.StringIO()

    render_compare_console(Console(file=out, width=200), result)
    html = render_compare_html(result)

    assert "REGRESSED" in out.getvalue()
    assert "regressed beyond tolerance: latency_p95@run" in out.getvalue()
    assert 'class="worse">REGRESSED' in html and "src=" not in html


def test_compare_paths_reads_prints_and_writes_the_page(tmp_path: Path) -> None:
    a, b = runs(tmp_path, Load(slow_ms=600), Load(slow_ms=900))
    out = io.StringIO()
    page = tmp_path / "compare.html"

    result = compare_paths(
        a, b / "verdict.json", ["latency_p95=60%"], console=Console(file=out, width=80), html=page
    )

    # p95 may grow 60 %; p99 keeps its default 10 % and grew 50 %.
    assert {r.sli for r in result.regressions} == {"latency_p99"}
    assert "REGRESSED" in out.getvalue()
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_compare_paths_rejects_a_bad_rule_before_reading(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="expected SLI"):
        compare_paths(tmp_path / "nope", tmp_path / "nope", ["p95<10"])
