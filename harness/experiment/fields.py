"""The building blocks of the experiment model: the frozen base class and durations."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema

from harness.experiment.durations import parse_duration

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h))+\s*$"},
            ],
            "description": "Seconds, or a string like 30s, 1m30s, 500ms.",
        }
    ),
]

MAX_RUN_SECONDS = 6 * 3600.0
MAX_USERS = 5000


class Model(BaseModel):
    """Base for experiment objects: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)
