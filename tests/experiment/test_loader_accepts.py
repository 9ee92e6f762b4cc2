"""Loading experiments: what is accepted, and the typed values it becomes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pydantic
import pytest

from harness.experiment.loader import load_experiment, load_experiment_text
from harness.experiment.model import SLI, Experiment, FaultType, Stream, default_objectives

REPO = Path(__file__).resolve().parents[2]

# A valid experiment, one minute long; tests append or change lines of it.
BASE = """\
name: probe
description: Does a probe pass?
load:
  stages:
    - {duration: 60s, users: 5, spawn_rate: 5}
"""


def load(text: str) -> Experiment:
    return load_experiment_text(textwrap.dedent(text), "probe.yaml")


def with_faults(*faults: str) -> str:
    return BASE + "faults:\n" + "".join(f"  - {{{fault}}}\n" for fault in faults)


@pytest.mark.parametrize(
    "path", sorted((REPO / "experiments").glob("*.yaml")), ids=lambda p: p.name
)
def test_every_shipped_experiment_validates(path: Path) -> None:
    experiment = load_experiment(path)

    assert experiment.load.duration > 0
    for fault in experiment.faults:
        assert fault.end <= experiment.load.duration


def test_objectives_default_to_the_post_mortem_slo_table() -> None:
    table = {(o.sli, o.min, o.max) for o in load(BASE).objectives}

    assert table == {
        (SLI.availability, 99.9, None),
        (SLI.latency_p95, None, 500),
        (SLI.error_rate, None, 0.1),
        (SLI.successful_bookings, 99.5, None),
    }
    assert [o.target_text for o in default_objectives()] == [
        ">= 99.9 %",
        "< 500 ms",
        "< 0.1 %",
        ">= 99.5 %",
    ]


def test_a_minimal_experiment_gets_typed_values_and_defaults() -> None:
    experiment = load(
        with_faults(
            "name: slow, type: latency, at: 10s, duration: 0.5m, attributes: {latency: 150}"
        )
    )

    fault = experiment.faults[0]
    assert fault.type is FaultType.latency
    assert fault.stream is Stream.downstream
    assert fault.proxy == "postgres"
    assert fault.toxicity == 1.0
    assert (fault.at, fault.end) == (10.0, 40.0)
    assert fault.attributes == {"latency": 150}
    assert experiment.load.stages[0].spawn_rate == 5.0
    assert experiment.stack.booking.pool_size == 100


def test_loaded_experiment_is_frozen() -> None:
    experiment = load(BASE)

    with pytest.raises(pydantic.ValidationError):
        experiment.name = "other"  # type: ignore[misc]


def test_description_is_folded_onto_one_line() -> None:
    experiment = load(
        BASE.replace("description: Does a probe pass?", "description: >\n  Does a probe\n  pass?")
    )

    assert experiment.description == "Does a probe pass?"


def test_unnamed_faults_are_labelled_by_proxy_type_and_stream() -> None:
    experiment = load(with_faults("type: timeout, stream: upstream, at: 1s, duration: 2s"))

    assert experiment.faults[0].label == "postgres-timeout-upstream"


def test_fault_ending_exactly_at_the_end_of_load_is_accepted() -> None:
    experiment = load(with_faults("type: latency, at: 50s, duration: 10s"))

    assert experiment.faults[0].end == experiment.load.duration


def test_faults_that_only_touch_do_not_overlap() -> None:
    experiment = load(
        with_faults(
            "name: a, type: latency, at: 1s, duration: 10s",
            "name: b, type: latency, at: 11s, duration: 10s",
        )
    )

    assert [f.label for f in experiment.faults] == ["a", "b"]


def test_same_toxic_type_on_different_streams_may_overlap() -> None:
    experiment = load(
        with_faults(
            "name: down-slow, type: latency, stream: downstream, at: 1s, duration: 20s",
            "name: up-slow, type: latency, stream: upstream, at: 10s, duration: 20s",
        )
    )

    assert len(experiment.faults) == 2


def test_different_toxic_types_on_one_stream_may_overlap() -> None:
    experiment = load(
        with_faults(
            "name: slow, type: latency, at: 1s, duration: 20s",
            "name: gone, type: down, at: 10s, duration: 5s",
        )
    )

    assert len(experiment.faults) == 2
