"""verdict.json's schema: the grader's output matches it, and reports regenerate from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.report.model import ReportError
from harness.report.schema import regenerate, schema_text, validate

from .runs import ABORTED_BEFORE_LOAD, Load, make_run, write_verdict

REPO = Path(__file__).resolve().parents[2]


def test_the_graders_output_matches_the_schema(tmp_path: Path) -> None:
    folder = make_run(tmp_path)

    assert validate(json.loads((folder / "verdict.json").read_text())) == []


def test_a_run_aborted_before_the_load_matches_the_schema() -> None:
    assert validate(ABORTED_BEFORE_LOAD) == []


def test_departures_are_reported_with_their_path() -> None:
    broken = json.loads(json.dumps(ABORTED_BEFORE_LOAD))
    broken["verdict"]["status"] = "passed"
    broken["verdict"]["objectives"] = [{"sli": "availability", "actual": "99%"}]
    del broken["schema_version"]

    problems = validate(broken)

    assert "$: missing 'schema_version'" in problems
    assert any(p.startswith("$.verdict.status: 'passed' is not one of") for p in problems)
    assert "$.verdict.objectives[0]: missing 'target'" in problems
    assert any(p.startswith("$.verdict.objectives[0].actual: expected") for p in problems)


def test_booleans_are_not_numbers() -> None:
    broken = {**ABORTED_BEFORE_LOAD, "started_at": True}

    assert validate(broken) == ["$.started_at: expected ['number', 'null'], got True"]


def test_the_documented_schema_file_is_the_one_in_the_code() -> None:
    assert (REPO / "docs" / "verdict.schema.json").read_text(encoding="utf-8") == schema_text()


def test_regenerate_rebuilds_every_report_from_the_json(tmp_path: Path) -> None:
    folder = make_run(tmp_path)

    written = regenerate(folder)

    assert [p.name for p in written] == ["report.html", "junit.xml", "summary.md"]
    assert all(p.parent == folder and p.stat().st_size > 0 for p in written)
    assert "latency_p95" in (folder / "summary.md").read_text(encoding="utf-8")


def test_regenerate_reads_a_verdict_written_before_schema_version(tmp_path: Path) -> None:
    folder = make_run(tmp_path, Load(fault=None))
    data = json.loads((folder / "verdict.json").read_text())
    del data["schema_version"]
    (folder / "verdict.json").write_text(json.dumps(data))

    assert len(regenerate(folder)) == 3


def test_regenerate_refuses_a_newer_schema_version(tmp_path: Path) -> None:
    folder = write_verdict(tmp_path / "r", {**ABORTED_BEFORE_LOAD, "schema_version": 99})

    with pytest.raises(ReportError, match="schema_version 99, newer than this harness reads"):
        regenerate(folder)


def test_regenerate_names_a_missing_verdict(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"verdict\.json does not exist"):
        regenerate(tmp_path)
