"""junit.xml: valid for CI systems, one case per objective, failures carry target and actual."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from harness.report.junit import render_junit, write_junit
from harness.report.model import load_run, result_from_json

from .runs import ABORTED_BEFORE_LOAD, Load, make_run

XSD = xmlschema.XMLSchema(Path(__file__).with_name("junit.xsd"))


def junit_for(folder: Path) -> ET.Element:
    text = render_junit(load_run(folder).result)
    XSD.validate(text)
    return ET.fromstring(text)


def problems(root: ET.Element) -> list[ET.Element]:
    return [e for case in root.iter("testcase") for e in case if e.tag in ("failure", "error")]


def test_a_failed_objective_is_a_failure_carrying_target_and_actual(tmp_path: Path) -> None:
    root = junit_for(make_run(tmp_path))

    (failure,) = problems(root)
    assert failure.tag == "failure" and failure.get("type") == "SLOViolation"
    assert failure.get("message") == "latency_p95 900.1 ms, target < 500 ms"
    assert "target: < 500 ms" in (failure.text or "")
    assert "actual: 900.1 ms" in (failure.text or "")
    assert "fault:db-latency" in (failure.text or "")


def test_one_case_per_objective_per_phase_plus_the_checks(tmp_path: Path) -> None:
    root = junit_for(make_run(tmp_path))

    suites = {s.get("name"): [c.get("name") for c in s.iter("testcase")] for s in root}
    assert suites == {
        "replay.run": [
            "availability >= 99.9 %",
            "latency_p95 < 500 ms",
            "error_rate < 0.1 %",
            "successful_bookings >= 99.5 %",
        ],
        "replay.checks": ["run completed", "every fault took effect", "database integrity"],
    }
    assert root.get("tests") == "7" and root.get("failures") == "1"


def test_a_passing_run_has_no_failure_and_no_error(tmp_path: Path) -> None:
    root = junit_for(make_run(tmp_path, Load(fault=None)))

    assert problems(root) == []
    assert root.get("failures") == "0" and root.get("errors") == "0"


def test_an_integrity_violation_fails_the_integrity_case(tmp_path: Path) -> None:
    root = junit_for(make_run(tmp_path, Load(fault=None), integrity_ok=False))

    (failure,) = problems(root)
    assert failure.get("type") == "IntegrityViolation"
    assert "acknowledged bookings missing" in (failure.get("message") or "")


def test_an_objective_with_no_data_is_an_error_not_a_pass(tmp_path: Path) -> None:
    objectives = [{"sli": "availability", "min": 99.0, "endpoint": "refund"}]
    root = junit_for(make_run(tmp_path, Load(fault=None), objectives=objectives))

    (error,) = problems(root)
    assert error.tag == "error" and error.get("type") == "NoData"


@pytest.mark.parametrize("status", ["pass", "fail", "inconclusive", "aborted"])
def test_there_is_a_failure_or_error_exactly_when_the_verdict_is_not_a_pass(status: str) -> None:
    data = {
        **ABORTED_BEFORE_LOAD,
        "verdict": {**ABORTED_BEFORE_LOAD["verdict"], "status": status},
    }
    if status != "aborted":
        data["verdict"]["integrity"] = {"checked": True, "ok": status != "fail"}
    if status == "inconclusive":
        data["verdict"]["faults_missing"] = ["db-latency"]

    text = render_junit(result_from_json(data))

    XSD.validate(text)
    assert bool(problems(ET.fromstring(text))) == (status != "pass")


def test_the_file_is_written_where_asked(tmp_path: Path) -> None:
    folder = make_run(tmp_path)

    path = write_junit(load_run(folder).result, tmp_path / "out.xml")

    XSD.validate(str(path))
