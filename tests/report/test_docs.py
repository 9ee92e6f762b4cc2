"""The CI example and the reports guide say what the code does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.report.compare import DEFAULT_TOLERANCES
from harness.report.model import HIGHER_IS_BETTER

REPO = Path(__file__).resolve().parents[2]


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load((REPO / "docs" / "ci-example.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    (job,) = workflow()["jobs"].values()
    return list(job["steps"])


def test_the_ci_example_runs_an_experiment_that_exists() -> None:
    runs = [s["run"] for s in steps() if "harness run " in s.get("run", "")]

    assert len(runs) == 1
    experiment = runs[0].split("harness run ")[1].split()[0]
    assert (REPO / experiment).is_file()
    # The run step is the one that fails the job: nothing may swallow its exit code.
    (step,) = [s for s in steps() if s.get("run") == runs[0]]
    assert "continue-on-error" not in step and "|| true" not in runs[0]


def test_the_ci_example_publishes_junit_and_html_even_after_a_failure() -> None:
    uploads = [s for s in steps() if str(s.get("uses", "")).startswith("actions/upload-artifact")]

    (upload,) = uploads
    assert upload["if"].startswith("always()")
    assert "junit.xml" in upload["with"]["path"] and "report.html" in upload["with"]["path"]


def test_the_guide_lists_the_default_tolerances_the_code_uses() -> None:
    guide = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")

    for rule in DEFAULT_TOLERANCES:
        assert rule.sli in guide
    defaults = "availability 0.1, error_rate 0.1, successful_bookings 0.5 (percentage"
    assert defaults in " ".join(guide.split())
    assert {"availability", "successful_bookings", "throughput"} == HIGHER_IS_BETTER
