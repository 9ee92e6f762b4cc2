"""Pydantic's validation errors, said the way this project says them.

Each error becomes a Problem at the file, line, column and key path of the bad value,
naming the value and what is accepted (the model's field names for an unknown key,
a duration's unit and limit, a pattern in words).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from harness.errors import Problem
from harness.experiment.durations import format_duration, parse_duration
from harness.experiment.model import (
    PHASE_PATTERN,
    Experiment,
)
from harness.experiment.source import Document, KeyPath


def problem_from(doc: Document, err: Any) -> Problem:
    path: KeyPath = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return doc.problem(path, _unknown_key_message(path), at_key=True)
    if kind == "missing":
        message = "required key is missing"
        if path[0] == "faults" and path[-1] == "duration":
            message += ": give duration (how long) or end (when it stops)"
        return doc.problem(path, message, at_key=True)
    raw = _value_at(doc.data, path, err.get("input"))
    if kind in _CONTAINER_TYPES:
        return doc.problem(path, f"expected {_CONTAINER_TYPES[kind]}, got {_describe(raw)}")
    message = str(err["msg"]).removeprefix("Value error, ")
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        message = f"accepted: {_PATTERNS[ctx['pattern']]}"
    elif kind in _RANGE_TYPES and _is_duration(_field_at(path)):
        limit = float(next(iter(ctx.values())))
        message += " seconds" + (f", that is {format_duration(limit)}" if limit >= 60 else "")
    if path in doc.values and not isinstance(raw, (dict, list)):
        got = f"got {raw!r}"
        if got not in message:  # our own validators already name the bad value
            message += f" ({got})"
    if path[-1] in _HINTS:
        message += f"; {_HINTS[str(path[-1])]}"
    return doc.problem(path, message)


# pydantic's wording for a wrong container names our Python classes; say it in YAML terms.
_CONTAINER_TYPES = {
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "dict_type": "a mapping of keys to values",
    "list_type": "a list (items on lines starting with '- ', or [a, b])",
}
_RANGE_TYPES = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
# The model's patterns in words; a pattern missing here keeps pydantic's message.
_PATTERNS = {
    PHASE_PATTERN: "run, baseline, during, recovery or fault:NAME",
    r"^[a-z0-9][a-z0-9-]*$": "lower-case letters, digits and dashes, not starting with a dash",
    r"^[A-Za-z0-9_.-]+$": "letters, digits, '_', '.' and '-'",
    r"^/": "a path starting with /, e.g. /health/ready",
    r"^https?://(127\.[0-9.]+|localhost|\[::1\]):[0-9]+/?$": (
        "http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT (this machine only)"
    ),
}
_HINTS = {"toxicity": "toxicity is the share of connections affected, from 0 to 1 (0.5 = half)"}


def _value_at(data: Any, path: KeyPath, default: Any) -> Any:
    """The value at ``path`` as the document holds it (``"8760h"``, not the seconds)."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _describe(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_duration(field: FieldInfo | None) -> bool:
    """Whether the field reads durations (``Duration`` or ``Duration | None``)."""
    if field is None:
        return False
    found = list(field.metadata)
    for arg in typing.get_args(field.annotation):
        found.extend(getattr(arg, "__metadata__", ()))
    return any(getattr(item, "func", None) is parse_duration for item in found)


def _unknown_key_message(path: KeyPath) -> str:
    accepted = _accepted_keys(path[:-1])
    key = str(path[-1])
    message = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
    message += f"; did you mean {close[0]!r}?" if close else "."
    if accepted:
        message += f" Accepted keys: {', '.join(accepted)}"
    return message


def _accepted_keys(path: KeyPath) -> list[str]:
    """Field names of the model found at ``path`` inside an Experiment."""
    model = _model_at(path)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _field_at(path: KeyPath) -> FieldInfo | None:
    """The model field that ``path`` names, if it names one."""
    model = _model_at(tuple(p for p in path[:-1] if not isinstance(p, int)))
    if model is None or isinstance(path[-1], int):
        return None
    named = {field.alias or name: field for name, field in model.model_fields.items()}
    return named.get(path[-1])


def _model_at(path: KeyPath) -> type[BaseModel] | None:
    """The model class found at ``path`` inside an Experiment (list indices skipped)."""
    model: Any = Experiment
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    return None


def _inner_model(annotation: Any) -> Any:
    """``list[Stage]``, ``Stage | None`` and ``list[Stage] | None`` -> Stage."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner = _inner_model(arg)
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return annotation
