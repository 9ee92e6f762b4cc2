"""summary.md: the same verdict, findings and tables as the HTML, in Markdown."""

from __future__ import annotations

from pathlib import Path

from harness.report.markdown import cell, render_markdown
from harness.report.model import load_run

from .runs import ABORTED_BEFORE_LOAD, Load, make_run, write_verdict


def summary(folder: Path) -> str:
    run = load_run(folder)
    return render_markdown(run.result, run.experiment, run.stats())


def test_the_heading_gives_the_status_and_the_reason_follows(tmp_path: Path) -> None:
    text = summary(make_run(tmp_path))

    lines = text.splitlines()
    assert lines[0] == "## ❌ **FAIL**: `replay`"
    assert "**1 of 4 objectives failed: latency_p95 900.1 ms (target < 500 ms)**" in lines[:6]


def test_it_says_which_objective_broke_during_which_fault(tmp_path: Path) -> None:
    text = summary(make_run(tmp_path))

    assert "it broke during fault:db-latency (900.1 ms)" in text
    assert "| latency_p95 | run | < 500 ms | 900.1 ms | -400.1 ms | ❌ **FAIL** |" in text
    assert "| fault:db-latency | 20s-40s |" in text
    assert "**900.1 ms**" in text


def test_the_error_budget_table_is_included_with_stats(tmp_path: Path) -> None:
    text = summary(make_run(tmp_path, Load(fail_share=0.5)))

    assert "### Error budget" in text
    assert "| availability |" in text


def test_a_passing_run_has_no_what_broke_section(tmp_path: Path) -> None:
    text = summary(make_run(tmp_path, Load(fault=None)))

    assert text.startswith("## ✅ **PASS**")
    assert "What broke" not in text
    assert "**Integrity:** ok" in text


def test_an_aborted_run_renders_without_phases(tmp_path: Path) -> None:
    text = summary(write_verdict(tmp_path / "r", ABORTED_BEFORE_LOAD))

    assert "ABORTED" in text and "No objective was graded." in text
    assert "\n\n\n" not in text


def test_table_cells_escape_pipes_and_newlines() -> None:
    assert cell("a|b\nc") == "a\\|b c"


def test_the_bold_note_appears_only_when_a_value_is_bold(tmp_path: Path) -> None:
    passing = summary(make_run(tmp_path / "a", Load(fault=None)))
    failing = summary(make_run(tmp_path / "b"))

    assert "Bold:" not in passing
    assert "Bold:" in failing
