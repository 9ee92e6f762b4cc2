"""junit.xml: the verdict as test results a CI system shows and counts.

One test suite per phase that has objectives, one test case per objective, plus a
``checks`` suite for what else decides the verdict: the run completed (not aborted),
every fault took effect, and the database kept its integrity. So the file holds no
failure and no error exactly when the verdict is a pass.

================  =========================================================
objective status  JUnit element
================  =========================================================
pass              a bare ``<testcase>``
fail              ``<failure type="SLOViolation">`` with target and actual
inconclusive      ``<error type="NoData">``: nothing to judge is not a pass
================  =========================================================

The layout follows the strictest of the schemas CI systems read (Ant's, which Jenkins,
GitLab, GitHub actions and Azure DevOps all accept): every suite carries ``name``,
``timestamp`` (UTC, no zone suffix), ``hostname``, the counts and ``time``, and its
``properties``, ``system-out`` and ``system-err`` elements, in that order.
"""

from __future__ import annotations

import datetime as dt
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.report.explain import explain_objective
from harness.report.model import ObjectiveView, RunResult, format_value

log = logging.getLogger(__name__)

JUNIT_FILE = "junit.xml"


@dataclass
class _Case:
    name: str
    seconds: float
    kind: str = ""  # "", "failure" or "error"
    type: str = ""
    message: str = ""
    text: str = ""


@dataclass
class _Suite:
    name: str
    seconds: float
    cases: list[_Case] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)


def _objective_case(result: RunResult, objective: ObjectiveView, seconds: float) -> _Case:
    case = _Case(f"{objective.name} {objective.target}", seconds)
    if objective.status == "pass":
        return case
    actual = format_value(objective.actual, objective.unit)
    margin = "-" if objective.margin is None else format_value(objective.margin, objective.unit)
    case.text = (
        f"objective: {objective.name}\nphase: {objective.phase}\ntarget: {objective.target}\n"
        f"actual: {actual}\nmargin: {margin}\n{explain_objective(result, objective).sentence}\n"
    )
    if objective.status == "fail":
        case.kind, case.type = "failure", "SLOViolation"
        case.message = f"{objective.name} {actual}, target {objective.target}"
    else:
        case.kind, case.type = "error", "NoData"
        case.message = f"{objective.name}: no data to judge (target {objective.target})"
    return case


def _check_cases(result: RunResult) -> list[_Case]:
    completed = _Case("run completed", result.duration)
    if result.status == "aborted":
        completed.kind, completed.type, completed.message = "failure", "Aborted", result.reason
    faults = _Case("every fault took effect", 0.0)
    if result.faults_missing:
        faults.kind, faults.type = "error", "FaultMissing"
        faults.message = "fault(s) that never took effect: " + ", ".join(result.faults_missing)
    integrity = _Case("database integrity", 0.0)
    data = result.integrity
    if not data or not data.get("checked", True):
        if result.status != "aborted":
            integrity.kind, integrity.type = "error", "NotChecked"
            integrity.message = "integrity was not checked: " + str(data.get("summary", ""))
    elif not data.get("ok", False):
        integrity.kind, integrity.type = "failure", "IntegrityViolation"
        integrity.message = str(data.get("summary", "integrity violated"))
    return [completed, faults, integrity]


def _suites(result: RunResult) -> list[_Suite]:
    suites: dict[str, _Suite] = {}
    for objective in result.objectives:
        phase = result.phase(objective.phase)
        seconds = (phase.end - phase.start) if phase else result.duration
        suite = suites.setdefault(
            objective.phase, _Suite(f"{result.name}.{objective.phase}", seconds)
        )
        suite.cases.append(_objective_case(result, objective, seconds))
    checks = _Suite(f"{result.name}.checks", result.duration, _check_cases(result))
    checks.properties = {"verdict": result.status, "reason": result.reason}
    return [*suites.values(), checks]


def _count(cases: list[_Case], kind: str) -> str:
    return str(sum(1 for c in cases if c.kind == kind))


def _suite_element(suite: _Suite, suite_id: int, timestamp: str) -> ET.Element:
    element = ET.Element(
        "testsuite",
        {
            "name": suite.name,
            "id": str(suite_id),
            "package": suite.name.split(".")[0],
            "timestamp": timestamp,
            "hostname": "localhost",
            "tests": str(len(suite.cases)),
            "failures": _count(suite.cases, "failure"),
            "errors": _count(suite.cases, "error"),
            "skipped": "0",
            "time": f"{suite.seconds:.3f}",
        },
    )
    props = ET.SubElement(element, "properties")
    for name, value in suite.properties.items():
        ET.SubElement(props, "property", {"name": name, "value": value})
    for case in suite.cases:
        attrs = {"name": case.name, "classname": suite.name, "time": f"{case.seconds:.3f}"}
        item = ET.SubElement(element, "testcase", attrs)
        if case.kind:
            detail = ET.SubElement(item, case.kind, {"message": case.message, "type": case.type})
            detail.text = case.text or case.message
    ET.SubElement(element, "system-out")
    ET.SubElement(element, "system-err")
    return element


def render_junit(result: RunResult) -> str:
    """The JUnit XML document for one run, as text."""
    started = result.started_at if result.started_at is not None else result.ended_at or 0.0
    stamp = dt.datetime.fromtimestamp(started, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    suites = _suites(result)
    cases = [c for s in suites for c in s.cases]
    root = ET.Element(
        "testsuites",
        {
            "name": result.name,
            "tests": str(len(cases)),
            "failures": _count(cases, "failure"),
            "errors": _count(cases, "error"),
            "time": f"{result.duration:.3f}",
        },
    )
    for index, suite in enumerate(suites):
        root.append(_suite_element(suite, index, stamp))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def write_junit(result: RunResult, path: Path) -> Path:
    """Write the JUnit XML to ``path`` and return it."""
    path.write_text(render_junit(result), encoding="utf-8")
    log.info("JUnit XML %s", path)
    return path
