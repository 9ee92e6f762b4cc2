"""Planning a run's phases from its faults."""

from __future__ import annotations

import textwrap

from harness.experiment.loader import load_experiment_text
from harness.experiment.model import Experiment
from harness.grading.phases import BASELINE, RECOVERY, RUN, Phase, plan_phases


def experiment(faults: str = "") -> Experiment:
    text = textwrap.dedent("""\
        name: phases
        description: Which phases does this run have?
        load:
          stages:
            - {duration: 30s, users: 5, spawn_rate: 5}
            - {duration: 60s, users: 5, spawn_rate: 5}
        """)
    return load_experiment_text(text + (f"faults:\n{faults}" if faults else ""), "phases.yaml")


def spans(phases: list[Phase]) -> list[tuple[str, float, float]]:
    return [(p.name, p.start, p.end) for p in phases]


def test_without_faults_there_is_only_the_whole_run() -> None:
    assert spans(plan_phases(experiment())) == [(RUN, 0.0, 90.0)]


def test_one_fault_gives_baseline_fault_and_recovery() -> None:
    phases = plan_phases(experiment("  - {name: slow, type: latency, at: 35s, duration: 30s}\n"))

    assert spans(phases) == [
        (RUN, 0.0, 90.0),
        (BASELINE, 0.0, 35.0),
        ("fault:slow", 35.0, 65.0),
        (RECOVERY, 65.0, 90.0),
    ]
    assert phases[2].seconds == 30.0


def test_fault_from_the_first_second_leaves_no_baseline() -> None:
    phases = plan_phases(experiment("  - {name: slow, type: latency, at: 0s, duration: 10s}\n"))

    assert [p.name for p in phases] == [RUN, "fault:slow", RECOVERY]


def test_fault_until_the_end_leaves_no_recovery() -> None:
    phases = plan_phases(experiment("  - {name: slow, type: latency, at: 60s, duration: 30s}\n"))

    assert [p.name for p in phases] == [RUN, BASELINE, "fault:slow"]


def test_faults_are_in_time_order_and_recovery_follows_the_last_end() -> None:
    phases = plan_phases(
        experiment(
            "  - {name: late, type: timeout, at: 50s, duration: 5s}\n"
            "  - {name: long, type: latency, at: 10s, duration: 60s}\n"
        )
    )

    assert spans(phases) == [
        (RUN, 0.0, 90.0),
        (BASELINE, 0.0, 10.0),
        ("fault:long", 10.0, 70.0),
        ("fault:late", 50.0, 55.0),
        (RECOVERY, 70.0, 90.0),
    ]


def test_a_shorter_actual_run_bounds_the_run_and_recovery() -> None:
    phases = plan_phases(
        experiment("  - {name: slow, type: latency, at: 10s, duration: 20s}\n"), run_length=45.0
    )

    assert spans(phases) == [
        (RUN, 0.0, 45.0),
        (BASELINE, 0.0, 10.0),
        ("fault:slow", 10.0, 30.0),
        (RECOVERY, 30.0, 45.0),
    ]


def test_a_run_stopped_during_a_fault_cuts_its_window_and_drops_later_faults() -> None:
    phases = plan_phases(
        experiment(
            "  - {name: slow, type: latency, at: 10s, duration: 20s}\n"
            "  - {name: later, type: timeout, at: 50s, duration: 5s}\n"
        ),
        run_length=20.0,
    )

    assert spans(phases) == [(RUN, 0.0, 20.0), (BASELINE, 0.0, 10.0), ("fault:slow", 10.0, 20.0)]


def test_a_run_stopped_before_any_fault_is_only_the_run() -> None:
    phases = plan_phases(
        experiment("  - {name: slow, type: latency, at: 10s, duration: 20s}\n"), run_length=5.0
    )

    assert spans(phases) == [(RUN, 0.0, 5.0)]
