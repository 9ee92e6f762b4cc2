"""The verdict in the terminal: the tables, what broke, and early aborts."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from harness.report.console import render_verdict

from .runs import ABORTED_BEFORE_LOAD, make_run


def rendered(result: dict[str, object]) -> str:
    out = io.StringIO()
    render_verdict(Console(file=out, width=250), result)
    return out.getvalue()


def test_a_failed_objective_is_followed_by_where_it_broke(tmp_path: Path) -> None:
    result = json.loads((make_run(tmp_path) / "verdict.json").read_text())

    text = rendered(result)

    assert "FAIL latency_p95 was 900.1 ms over run (target < 500 ms): it broke during " in text
    assert "fault:db-latency (900.1 ms)" in text
    assert text.rstrip().splitlines()[-2].startswith("verdict: FAIL")


def test_a_run_aborted_before_the_load_prints_its_verdict() -> None:
    text = rendered(ABORTED_BEFORE_LOAD)

    assert "verdict: ABORTED — aborted before the load started" in text
