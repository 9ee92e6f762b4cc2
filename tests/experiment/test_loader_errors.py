"""Loading experiments: every kind of error names file, line, column and key path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.errors import ExperimentError, Problem
from harness.experiment.loader import load_experiment, load_experiment_text
from harness.experiment.model import Experiment

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


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ExperimentError) as caught:
        load(text)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return caught.value.problems


def only_problem(text: str) -> Problem:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


def column_of(text: str, line: int, fragment: str) -> int:
    """1-based column where ``fragment`` starts on ``line`` of ``text``."""
    return textwrap.dedent(text).splitlines()[line - 1].index(fragment) + 1


def with_faults(*faults: str) -> str:
    return BASE + "faults:\n" + "".join(f"  - {{{fault}}}\n" for fault in faults)


def test_yaml_syntax_error_names_line_and_column() -> None:
    problem = only_problem("name: probe\ndescription: [unclosed\nload: {}\n")

    assert (problem.file, problem.line, problem.column) == ("probe.yaml", 3, 5)
    assert problem.message.startswith("YAML syntax error")


def test_duplicate_key_names_the_line_of_both() -> None:
    problem = only_problem(BASE + "stack:\n  booking:\n    seats: 100\n    seats: 200\n")

    assert (problem.key, problem.line, problem.column) == ("stack.booking.seats", 9, 5)
    assert "first defined on line 8" in problem.message


def test_unknown_key_suggests_the_closest_and_lists_the_accepted() -> None:
    text = with_faults("type: latency, at: 1s, duration: 2s, atributes: {}")
    problem = only_problem(text)

    assert problem.key == "faults[0].atributes"
    assert (problem.line, problem.column) == (7, column_of(text, 7, "atributes"))
    assert "did you mean 'attributes'?" in problem.message
    assert "Accepted keys: name, proxy, type, at, duration, stream" in problem.message


def test_unknown_key_with_nothing_close_still_lists_the_accepted() -> None:
    problem = only_problem(BASE + "zzz: 1\n")

    assert (problem.key, problem.line, problem.column) == ("zzz", 6, 1)
    assert problem.message.startswith("unknown key 'zzz'. Accepted keys: ")
    assert (
        "Accepted keys: name, description, stack, load, faults, steady_state, abort, objectives"
        in problem.message
    )


def test_wrong_type_names_the_value_and_what_is_accepted() -> None:
    text = BASE.replace("users: 5", "users: many")
    problem = only_problem(text)

    assert problem.key == "load.stages[0].users"
    assert (problem.line, problem.column) == (5, column_of(text, 5, "many"))
    assert "valid integer" in problem.message
    assert "'many'" in problem.message


@pytest.mark.parametrize("bad", ["0", "0s", "-5", "0ms"])
def test_stage_duration_must_be_positive(bad: str) -> None:
    problem = only_problem(BASE.replace("duration: 60s", f"duration: {bad}"))

    assert (problem.key, problem.line) == ("load.stages[0].duration", 5)
    assert "greater than 0" in problem.message


def test_fault_duration_must_be_positive() -> None:
    problem = only_problem(with_faults("type: latency, at: 1s, duration: 0s"))

    assert (problem.key, problem.line) == ("faults[0].duration", 7)
    assert "greater than 0" in problem.message


def test_unreadable_duration_says_which_forms_are_accepted() -> None:
    problem = only_problem(with_faults("type: latency, at: ten seconds, duration: 1s"))

    assert problem.key == "faults[0].at"
    assert '"1m30s"' in problem.message
    assert problem.message.count("got") == 1


def test_toxicity_above_one_is_refused() -> None:
    problem = only_problem(with_faults("type: latency, at: 1s, duration: 2s, toxicity: 1.5"))

    assert (problem.key, problem.line) == ("faults[0].toxicity", 7)
    assert "less than or equal to 1" in problem.message
    assert "1.5" in problem.message


@pytest.mark.parametrize(("sli", "side"), [("availability", "min"), ("error_rate", "max")])
def test_percentage_objective_above_100_is_refused(sli: str, side: str) -> None:
    problem = only_problem(BASE + f"objectives:\n  - {{sli: {sli}, {side}: 100.5}}\n")

    assert (problem.key, problem.line) == (f"objectives[0].{side}", 7)
    assert "accepted 0 to 100" in problem.message


def test_latency_objective_may_exceed_100() -> None:
    experiment = load(BASE + "objectives:\n  - {sli: latency_p95, max: 800}\n")

    assert experiment.objectives[0].bound == 800


def test_objective_needs_exactly_one_bound() -> None:
    problem = only_problem(BASE + "objectives:\n  - {sli: availability, min: 1, max: 2}\n")

    assert (problem.key, problem.line) == ("objectives[0]", 7)
    assert "exactly one of min or max" in problem.message


def test_unknown_proxy_lists_the_stacks_proxies() -> None:
    text = with_faults("type: latency, proxy: redis, at: 1s, duration: 2s")
    problem = only_problem(text)

    assert problem.key == "faults[0].proxy"
    assert (problem.line, problem.column) == (7, column_of(text, 7, "redis"))
    assert "unknown proxy 'redis'" in problem.message
    assert "postgres" in problem.message


def test_unknown_toxic_type_lists_the_toxic_types() -> None:
    text = with_faults("type: latncy, at: 1s, duration: 2s")
    problem = only_problem(text)

    assert problem.key == "faults[0].type"
    assert (problem.line, problem.column) == (7, column_of(text, 7, "latncy"))
    for accepted in ("'latency'", "'timeout'", "'reset_peer'", "'down'"):
        assert accepted in problem.message


def test_unknown_attribute_lists_the_toxics_attributes() -> None:
    problem = only_problem(
        with_faults("type: latency, at: 1s, duration: 2s, attributes: {latency: 5, delay: 9}")
    )

    assert problem.key == "faults[0].attributes.delay"
    assert problem.line == 7
    assert "accepted: jitter, latency" in problem.message


def test_toxic_attribute_must_not_be_negative() -> None:
    problem = only_problem(
        with_faults("type: latency, at: 1s, duration: 2s, attributes: {latency: -5}")
    )

    assert problem.key == "faults[0].attributes.latency"
    assert "must not be negative" in problem.message


def test_fault_past_the_end_of_the_run_says_both_times() -> None:
    problem = only_problem(with_faults("type: latency, at: 50s, duration: 20s"))

    assert (problem.key, problem.line) == ("faults[0].duration", 7)
    assert "ends at 1m10s" in problem.message
    assert "load ends at 1m" in problem.message


def test_overlapping_faults_on_one_proxy_type_and_stream_are_refused() -> None:
    problem = only_problem(
        with_faults(
            "name: a, type: latency, at: 1s, duration: 20s",
            "name: b, type: latency, at: 10s, duration: 20s",
        )
    )

    assert (problem.key, problem.line) == ("faults[1].at", 8)
    assert "overlaps faults[0] (a, 1s-21s)" in problem.message


def test_down_faults_overlap_whatever_their_stream() -> None:
    problem = only_problem(
        with_faults(
            "name: a, type: down, at: 1s, duration: 10s",
            "name: b, type: down, stream: upstream, at: 5s, duration: 10s",
        )
    )

    assert problem.key == "faults[1].at"


def test_duplicate_fault_names_point_at_the_second() -> None:
    problem = only_problem(
        with_faults(
            "name: a, type: latency, at: 1s, duration: 2s",
            "name: a, type: timeout, at: 1s, duration: 2s",
        )
    )

    assert (problem.key, problem.line) == ("faults[1].name", 8)
    assert "already used by faults[0]" in problem.message


@pytest.mark.parametrize(
    ("text", "key", "line"),
    [
        (BASE.replace("name: probe\n", ""), "name", 1),
        (BASE.replace("description: Does a probe pass?\n", ""), "description", 1),
        ("name: probe\ndescription: d\n", "load", 1),
    ],
)
def test_missing_required_key_is_named(text: str, key: str, line: int) -> None:
    problem = only_problem(text)

    assert (problem.key, problem.line) == (key, line)
    assert problem.message == "required key is missing"


def test_a_load_without_stages_or_arrivals_says_both_are_possible() -> None:
    problem = only_problem("name: probe\ndescription: d\nload:\n  seed: 3\n")

    assert (problem.key, problem.line) == ("load", 4)
    assert "give stages (users) or arrivals (journeys per second)" in problem.message


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file_is_refused(text: str) -> None:
    problem = only_problem(text)

    assert (problem.line, problem.key) == (1, "")
    assert "empty" in problem.message


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("hello\n", "str")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    problem = only_problem(text)

    assert problem.line == 1
    assert f"an experiment is a YAML mapping, got a {kind}" in problem.message


@pytest.mark.parametrize("tagged", ["!!int abc", "!foo bar"])
def test_values_yaml_cannot_construct_are_located(tagged: str) -> None:
    problem = only_problem(BASE.replace("name: probe", f"name: {tagged}"))

    assert (problem.key, problem.line, problem.column) == ("name", 1, 7)
    assert "cannot read this value" in problem.message


def test_every_model_problem_is_reported_together() -> None:
    text = BASE.replace("users: 5", "users: -1") + textwrap.dedent("""\
        bogus: 1
        faults:
          - {type: latency, at: 1s, duration: 2s, toxicity: 2}
        objectives:
          - {sli: availability}
        """)

    found = {(p.key, p.line) for p in problems_of(text)}

    assert found == {
        ("load.stages[0].users", 5),
        ("bogus", 6),
        ("faults[0].toxicity", 8),
        ("objectives[0]", 10),
    }


def test_every_cross_field_problem_is_reported_together() -> None:
    text = (
        with_faults(
            "name: a, type: latency, proxy: redis, at: 1s, duration: 2s",
            "name: b, type: latency, at: 50s, duration: 30s, attributes: {rate: 1}",
            "name: b, type: latency, at: 55s, duration: 1s",
        )
        + "objectives:\n  - {sli: successful_bookings, min: 101}\n"
    )

    found = {p.key for p in problems_of(text)}

    assert found == {
        "faults[0].proxy",
        "faults[1].attributes.rate",
        "faults[1].duration",
        "faults[2].name",
        "faults[2].at",
        "objectives[0].min",
    }


def test_problems_print_as_file_line_column_key_message() -> None:
    text = with_faults("type: latency, at: 1s, duration: 2s, toxicity: 1.5")
    problem = only_problem(text)

    column = column_of(text, 7, "1.5")
    assert str(problem).startswith(f"probe.yaml:7:{column}: faults[0].toxicity: ")


def test_unreadable_file_is_an_experiment_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(ExperimentError) as caught:
        load_experiment(missing)

    (problem,) = caught.value.problems
    assert problem.file == str(missing)
    assert "cannot read the file" in problem.message


PHASE_BASE = """\
name: p
description: d
load:
  stages: [{duration: 60s, users: 1, spawn_rate: 1}]
"""


@pytest.mark.parametrize(
    ("faults", "phase", "says"),
    [
        ("", "baseline", "a baseline needs a first fault"),
        ("", "during", "'during' needs at least one fault"),
        (
            "faults: [{name: x, type: noop, at: 10s, duration: 50s}]\n",
            "recovery",
            "a recovery phase needs the last fault to end before the load does",
        ),
        (
            "faults: [{name: x, type: noop, at: 10s, duration: 5s}]\n",
            "fault:y",
            "no fault is named 'y'",
        ),
    ],
)
def test_an_objective_phase_must_exist_on_the_timeline(faults: str, phase: str, says: str) -> None:
    text = (
        PHASE_BASE + faults + f"objectives:\n  - {{sli: availability, min: 99, phase: {phase}}}\n"
    )
    with pytest.raises(ExperimentError) as caught:
        load_experiment_text(text, "p.yaml")
    (problem,) = caught.value.problems
    assert problem.key == "objectives[0].phase"
    assert says in problem.message
    assert "phases of this experiment: run" in problem.message


def test_recovery_time_needs_a_recovery_or_fault_phase() -> None:
    text = (
        PHASE_BASE
        + "faults: [{name: x, type: noop, at: 10s, duration: 5s}]\n"
        + ("objectives:\n  - {sli: recovery_time, max: 5, phase: run}\n")
    )
    with pytest.raises(ExperimentError, match="recovery_time is measured after a fault"):
        load_experiment_text(text, "p.yaml")
