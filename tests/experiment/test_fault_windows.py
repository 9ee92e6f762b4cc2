"""Fault windows written with ``end``, and ramps across a window."""

from __future__ import annotations

import pytest

from harness.errors import ExperimentError
from harness.experiment.loader import load_experiment_text

BASE = """\
name: w
description: d
load: {stages: [{duration: 60s, users: 1, spawn_rate: 1}]}
faults:
"""


def load_fault(text: str):
    return load_experiment_text(BASE + text, "w.yaml").faults[0]


def test_end_is_another_way_to_write_the_window() -> None:
    fault = load_fault("  - {type: latency, at: 10s, end: 40s, attributes: {latency: 100}}\n")
    assert (fault.at, fault.duration, fault.end) == (10, 30, 40)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("  - {type: latency, at: 10s, end: 5s}\n", "end (5s) must come after at (10s)"),
        ("  - {type: latency, at: 1s, end: 5s, duration: 4s}\n", "duration or end, not both"),
        ("  - {type: latency, at: 1s, end: soon}\n", "expected a duration"),
    ],
)
def test_a_bad_end_is_explained(text: str, says: str) -> None:
    with pytest.raises(ExperimentError) as caught:
        load_fault(text)
    assert says in str(caught.value)
    assert caught.value.problems[0].line == 5


def test_a_ramp_moves_attributes_linearly_across_the_window() -> None:
    fault = load_fault(
        "  - {type: latency, at: 0s, duration: 40s, attributes: {latency: 100},"
        " ramp: {to: {latency: 500}, every: 10s}}\n"
    )
    assert [fault.attributes_at(t)["latency"] for t in (0, 10, 20, 40, 99)] == [
        100,
        200,
        300,
        500,
        500,
    ]


def test_a_ramp_names_only_attributes_of_its_toxic() -> None:
    with pytest.raises(ExperimentError) as caught:
        load_fault("  - {type: bandwidth, at: 0s, duration: 4s, ramp: {to: {latency: 5}}}\n")
    (problem,) = caught.value.problems
    assert problem.key == "faults[0].ramp.to.latency"
    assert "accepted: rate" in problem.message
