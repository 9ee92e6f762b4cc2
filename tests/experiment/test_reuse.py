"""Reuse: ``extends`` a base experiment, ``vars`` with ``${name}``, and ``--set`` overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ExperimentError
from harness.experiment.loader import load_experiment

BASE = """\
name: base
description: the shared part
vars:
  latency: 100
  users: 10
load:
  seed: 1
  stages:
    - {duration: 30s, users: "${users}", spawn_rate: 5}
faults:
  - name: slow-db
    type: latency
    at: 10s
    duration: 10s
    attributes: {latency: "${latency}"}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_file_extends_a_base_and_overrides_only_what_it_names(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    child = write(
        tmp_path,
        "child.yaml",
        """\
extends: base.yaml
name: child
vars: {latency: 300}
load: {seed: 2}
""",
    )

    experiment = load_experiment(child)

    assert experiment.name == "child"
    assert experiment.description == "the shared part"
    assert experiment.load.seed == 2
    assert experiment.load.stages[0].users == 10  # from the base, through a variable
    assert experiment.faults[0].attributes == {"latency": 300}  # the child's variable


def test_a_whole_variable_keeps_its_type_and_a_partial_one_becomes_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "x.yaml",
        BASE.replace("description: the shared part", "description: latency ${latency} ms"),
    )

    experiment = load_experiment(path)

    assert experiment.description == "latency 100 ms"
    assert experiment.faults[0].attributes["latency"] == 100


def test_set_overrides_values_and_variables(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", BASE)

    experiment = load_experiment(
        path, ["load.stages[0].users=25", "vars.latency=250", "faults.0.duration=5s"]
    )

    assert experiment.load.stages[0].users == 25
    assert experiment.faults[0].attributes["latency"] == 250
    assert experiment.faults[0].duration == 5


def test_an_error_in_a_base_names_the_base_file_and_line(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE.replace("spawn_rate: 5", "spawn_rate: -5"))
    child = write(tmp_path, "child.yaml", "extends: base.yaml\nname: child\n")

    with pytest.raises(ExperimentError) as caught:
        load_experiment(child)

    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.key) == (
        str(base.resolve()),
        9,
        "load.stages[0].spawn_rate",
    )


def test_a_bad_set_value_is_named_by_its_option(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", BASE)

    with pytest.raises(ExperimentError) as caught:
        load_experiment(path, ["load.seed=seven"])

    (problem,) = caught.value.problems
    assert problem.file == "--set load.seed=seven"
    assert problem.key == "load.seed"


def test_an_unknown_variable_is_an_error_listing_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", BASE.replace('"${users}"', '"${user}"'))

    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)

    (problem,) = caught.value.problems
    assert problem.key == "load.stages[0].users"
    assert problem.line == 9
    assert "unknown variable ${user}; vars defined: latency, users" in problem.message


def test_extends_loops_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "extends: a.yaml\n")

    with pytest.raises(ExperimentError, match="extends loops"):
        load_experiment(b)


def test_a_missing_base_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", "extends: nowhere.yaml\n")

    with pytest.raises(ExperimentError, match=r"nowhere\.yaml does not exist"):
        load_experiment(path)


def test_set_without_a_value_says_what_is_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "x.yaml", BASE)

    with pytest.raises(ExperimentError, match=r"expected KEY\.PATH=VALUE"):
        load_experiment(path, ["load.seed"])


VARIANTS = (
    BASE
    + """\
variants:
  before: {}
  after:
    load.seed: 9
    faults.0.attributes.latency: 5
"""
)


def test_a_variant_applies_its_settings_before_set(tmp_path: Path) -> None:
    path = write(tmp_path, "v.yaml", VARIANTS)

    before = load_experiment(path, variant="before")
    after = load_experiment(path, variant="after")
    overridden = load_experiment(path, ["load.seed=11"], variant="after")

    assert (before.load.seed, before.faults[0].attributes["latency"]) == (1, 100)
    assert (after.load.seed, after.faults[0].attributes["latency"]) == (9, 5)
    assert overridden.load.seed == 11


def test_variant_names_are_listed_in_file_order(tmp_path: Path) -> None:
    from harness.experiment.compose import variant_names

    assert variant_names(write(tmp_path, "v.yaml", VARIANTS)) == ["before", "after"]


def test_an_unknown_variant_names_the_defined_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "v.yaml", VARIANTS)

    with pytest.raises(
        ExperimentError, match="no variant 'later'; variants defined: before, after"
    ):
        load_experiment(path, variant="later")
