"""The experiment language as JSON Schema, for editors and for ``harness schema``.

Generated from the typed model, so it cannot drift from what the loader accepts. The
two keys handled before validation (``extends`` and ``vars``) are added by hand.
"""

from __future__ import annotations

from typing import Any

from harness.experiment.model import Experiment

SCHEMA_ID = "https://concert-chaos-harness.invalid/schema/experiment.json"


def experiment_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of an experiment file."""
    schema = Experiment.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "Experiment"
    properties = schema.setdefault("properties", {})
    properties["extends"] = {
        "type": "string",
        "description": "A base experiment file (relative path) this file is merged over.",
    }
    properties["variants"] = {
        "type": "object",
        "description": "Named sets of overrides (key path: value), run with --variant NAME "
        "or all in turn with harness matrix.",
    }
    properties["vars"] = {
        "type": "object",
        "description": "Variables: a string that is exactly ${name} takes the value.",
    }
    return schema
