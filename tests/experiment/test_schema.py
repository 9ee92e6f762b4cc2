"""The JSON Schema that ``harness schema`` prints documents every key."""

from __future__ import annotations

import json
from typing import Any

from harness.experiment.schema import experiment_schema


def _undocumented(schema: dict[str, Any]) -> list[str]:
    missing = []
    for model_name, model in schema["$defs"].items():
        for key, prop in model.get("properties", {}).items():
            if "description" not in prop and "$ref" not in prop:
                missing.append(f"{model_name}.{key}")
    for key, prop in schema["properties"].items():
        if "description" not in prop and "$ref" not in prop:
            missing.append(f"Experiment.{key}")
    return missing


def test_every_key_of_the_language_has_a_description() -> None:
    assert _undocumented(experiment_schema()) == []


def test_durations_accept_numbers_and_strings_in_the_schema() -> None:
    stage = experiment_schema()["$defs"]["Stage"]["properties"]["duration"]
    kinds = {option["type"] for option in stage["anyOf"]}
    assert kinds == {"number", "string"}


def test_the_schema_command_prints_valid_json(run_cli) -> None:
    result = run_cli("schema")
    assert result.code == 0
    printed = json.loads(result.out)
    assert printed["title"] == "Experiment"
    assert {"extends", "vars", "load", "faults", "objectives"} <= set(printed["properties"])
