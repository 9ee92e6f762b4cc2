"""Load an experiment file into a validated :class:`Experiment`, or say exactly what is wrong.

Three passes, all before anything starts: YAML syntax (with duplicate keys refused),
the typed model (pydantic), then checks across fields (faults inside the run, no
overlapping faults, known proxies). Every problem names file, line, column and key.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from harness.errors import ExperimentError, Problem
from harness.experiment.compose import compose
from harness.experiment.durations import format_duration, parse_duration
from harness.experiment.model import (
    MAX_RUN_SECONDS,
    PHASE_PATTERN,
    SLI,
    SLI_UNITS,
    TOXIC_ATTRIBUTES,
    Experiment,
    Fault,
    FaultType,
    Guard,
    Objective,
)
from harness.experiment.source import Document, KeyPath, parse_text

# Proxies the reference stack puts in front of its dependencies.
KNOWN_PROXIES = ("postgres",)


def load_experiment(
    path: Path, overrides: list[str] | tuple[str, ...] = (), variant: str | None = None
) -> Experiment:
    """Read, parse and validate an experiment with its bases, variant, vars and ``--set``s."""
    return validate_document(compose(path, overrides, variant))


def load_experiment_text(text: str, file: str = "<experiment>") -> Experiment:
    """Validate an experiment given as YAML text (tests, stdin)."""
    return validate_document(parse_text(text, file))


def validate_document(doc: Document) -> Experiment:
    """Turn parsed YAML into an Experiment; raise ExperimentError listing every problem."""
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__
        raise ExperimentError([doc.problem((), f"an experiment is a YAML mapping, got a {kind}")])
    try:
        experiment = Experiment.model_validate(doc.data)
    except ValidationError as exc:
        raise ExperimentError([_problem_from(doc, err) for err in exc.errors()]) from exc
    problems = _cross_checks(doc, experiment)
    if problems:
        raise ExperimentError(problems)
    return experiment


def _problem_from(doc: Document, err: Any) -> Problem:
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


def _cross_checks(doc: Document, experiment: Experiment) -> list[Problem]:
    problems: list[Problem] = []
    seen_names: dict[str, int] = {}
    for index, fault in enumerate(experiment.faults):
        path: KeyPath = ("faults", index)
        problems.extend(_attribute_problems(doc, path, fault))
        if fault.on_replicas:
            problems.extend(_replica_problems(doc, path, fault, experiment))
        elif fault.proxy not in KNOWN_PROXIES:
            problems.append(
                doc.problem(
                    (*path, "proxy"),
                    f"unknown proxy {fault.proxy!r}; the stack has: {', '.join(KNOWN_PROXIES)}",
                )
            )
        problems.extend(_window_problems(doc, path, fault, experiment.load.duration))
        if fault.label in seen_names:
            problems.append(_name_problem(doc, path, fault, seen_names[fault.label]))
        seen_names.setdefault(fault.label, index)
    problems.extend(_overlaps(doc, experiment.faults))
    for index, objective in enumerate(experiment.objectives):
        problems.extend(_objective_problems(doc, index, objective))
        problems.extend(_phase_problems(doc, index, objective, experiment))
    for index, guard in enumerate(experiment.abort.guards):
        problems.extend(_guard_problems(doc, index, guard))
    return problems


def _window_problems(
    doc: Document, path: KeyPath, fault: Fault, run_length: float
) -> list[Problem]:
    """A fault must start and end inside the run; point at the key the file used."""
    inside = "faults must lie inside the run"
    ends = format_duration(run_length)
    if fault.at >= run_length:
        return [
            doc.problem(
                (*path, "at"),
                f"the fault starts at {format_duration(fault.at)}, when the load has "
                f"already ended at {ends}; {inside}",
            )
        ]
    if fault.end > run_length + 1e-9:
        key = "end" if (*path, "end") in doc.values else "duration"
        return [
            doc.problem(
                (*path, key),
                f"the fault ends at {format_duration(fault.end)}, after the load ends at "
                f"{ends}; {inside}",
            )
        ]
    return []


def _name_problem(doc: Document, path: KeyPath, fault: Fault, first: int) -> Problem:
    if fault.name is not None:
        return doc.problem(
            (*path, "name"),
            f"fault name {fault.label!r} is already used by faults[{first}]; names must be unique",
        )
    # An unnamed fault is named after its proxy, type and stream; the file has no name key.
    return doc.problem(
        path,
        f"this unnamed fault gets the name {fault.label!r}, already used by faults[{first}]; "
        "give one of them a name (names must be unique)",
    )


def _guard_problems(doc: Document, index: int, guard: Guard) -> list[Problem]:
    side = "above" if guard.above is not None else "below"
    limit = guard.above if guard.above is not None else guard.below
    assert limit is not None  # the model insists on exactly one
    path: KeyPath = ("abort", "guards", index, side)
    if SLI_UNITS[SLI(guard.sli.value)] == "%" and not 0 <= limit <= 100:
        return [
            doc.problem(
                path, f"{guard.sli.value} is a percentage: accepted 0 to 100 (got {limit:g})"
            )
        ]
    if limit < 0:
        return [doc.problem(path, f"must not be negative (got {limit:g})")]
    return []


def _attribute_problems(doc: Document, path: KeyPath, fault: Fault) -> list[Problem]:
    problems = []
    values = [((*path, "attributes", key), key, v) for key, v in fault.attributes.items()]
    if fault.ramp is not None:
        if not TOXIC_ATTRIBUTES[fault.type]:
            rampable = ", ".join(t.value for t, names in TOXIC_ATTRIBUTES.items() if names)
            problems.append(
                doc.problem(
                    (*path, "ramp"),
                    f"a {fault.type.value} fault has no attributes to ramp; "
                    f"toxic types that have some: {rampable}",
                )
            )
        values += [((*path, "ramp", "to", key), key, v) for key, v in fault.ramp.to.items()]
    for where, key, value in values:
        problem = _attribute_problem(doc, where, fault.type, key, value)
        if problem is not None:
            problems.append(problem)
    return problems


# Toxiproxy reads these in milliseconds (slicer's delay in microseconds); a value longer
# than the longest run cannot be meant. Sizes and rates get a bound of the same kind.
_MS_ATTRIBUTES = frozenset({"latency", "jitter", "delay", "timeout"})
_MAX_MS = int(MAX_RUN_SECONDS * 1000)
_MAX_SIZE = 2**31 - 1


def _attribute_problem(
    doc: Document, where: KeyPath, toxic: FaultType, key: str, value: int
) -> Problem | None:
    allowed = TOXIC_ATTRIBUTES[toxic]
    if key not in allowed:
        accepted = ", ".join(sorted(allowed)) or "none"
        return doc.problem(
            where,
            f"unknown attribute {key!r} for toxic type {toxic.value}; accepted: {accepted}",
            at_key=True,
        )
    if value < 0:
        return doc.problem(where, f"must not be negative (got {value})")
    if toxic is FaultType.slicer and key == "delay":
        limit, unit = _MAX_MS * 1000, " µs"
    elif key in _MS_ATTRIBUTES:
        limit, unit = _MAX_MS, " ms"
    else:
        limit, unit = _MAX_SIZE, ""
    if value <= limit:
        return None
    longest = f", the longest run ({format_duration(MAX_RUN_SECONDS)})" if unit else ""
    return doc.problem(where, f"accepted 0 to {limit}{unit}{longest} (got {value})")


def _phase_problems(
    doc: Document, index: int, objective: Objective, experiment: Experiment
) -> list[Problem]:
    """The objective's phase must exist on this experiment's timeline."""
    faults = experiment.faults
    phase = objective.phase
    path: KeyPath = ("objectives", index, "phase")
    labels = [f.label for f in faults]
    missing = None
    if phase == "baseline" and not any(f.at > 0 for f in faults):
        missing = "a baseline needs a first fault that starts after 0s"
    elif phase == "during" and not faults:
        missing = "'during' needs at least one fault"
    elif phase == "recovery" and not (
        faults and max(f.end for f in faults) < experiment.load.duration
    ):
        missing = "a recovery phase needs the last fault to end before the load does"
    elif phase.startswith("fault:") and phase.removeprefix("fault:") not in labels:
        missing = f"no fault is named {phase.removeprefix('fault:')!r}"
    if missing:
        accepted = ", ".join(["run", *_phases_of(experiment)])
        return [doc.problem(path, f"{missing}; phases of this experiment: {accepted}")]
    if objective.sli is SLI.recovery_time and not (
        phase == "recovery" or phase.startswith("fault:")
    ):
        return [
            doc.problem(
                path, "recovery_time is measured after a fault: use phase recovery or fault:NAME"
            )
        ]
    return []


def _phases_of(experiment: Experiment) -> list[str]:
    faults = experiment.faults
    if not faults:
        return []
    names = ["during", *(f"fault:{f.label}" for f in faults)]
    if any(f.at > 0 for f in faults):
        names.insert(0, "baseline")
    if max(f.end for f in faults) < experiment.load.duration:
        names.append("recovery")
    return names


def _objective_problems(doc: Document, index: int, objective: Objective) -> list[Problem]:
    side = "min" if objective.min is not None else "max"
    path: KeyPath = ("objectives", index, side)
    if SLI_UNITS[objective.sli] == "%" and not 0 <= objective.bound <= 100:
        return [
            doc.problem(
                path,
                f"{objective.sli.value} is a percentage: accepted 0 to 100 "
                f"(got {objective.bound:g})",
            )
        ]
    if objective.bound < 0:
        return [doc.problem(path, f"must not be negative (got {objective.bound:g})")]
    return []


def _replica_problems(
    doc: Document, path: KeyPath, fault: Fault, experiment: Experiment
) -> list[Problem]:
    count = experiment.stack.booking.replicas
    names = [f"booking-{i + 1}" for i in range(count)]
    problems = []
    for index, name in enumerate(fault.replicas or []):
        if name not in names:
            problems.append(
                doc.problem(
                    (*path, "replicas", index),
                    f"no replica {name!r}; the stack has {', '.join(names)}",
                )
            )
    if fault.count is not None and fault.count > count:
        problems.append(
            doc.problem(
                (*path, "count"),
                f"{fault.count} replicas asked for, the stack has {count} (stack.booking.replicas)",
            )
        )
    return problems


def _same_target(a: Fault, b: Fault) -> bool:
    if a.on_replicas or b.on_replicas:
        # Replica faults overlap unless both name replicas and share none.
        if not (a.on_replicas and b.on_replicas):
            return False
        return not (a.replicas and b.replicas and not set(a.replicas) & set(b.replicas))
    if a.proxy != b.proxy:
        return False
    if FaultType.down in (a.type, b.type):
        return a.type == b.type
    return a.type == b.type and a.stream == b.stream


def _overlaps(doc: Document, faults: list[Fault]) -> list[Problem]:
    problems = []
    for j, later in enumerate(faults):
        for i, earlier in enumerate(faults[:j]):
            if _same_target(earlier, later) and later.at < earlier.end and earlier.at < later.end:
                problems.append(
                    doc.problem(
                        ("faults", j, "at"),
                        f"overlaps faults[{i}] ({earlier.label}, "
                        f"{format_duration(earlier.at)}-{format_duration(earlier.end)}) "
                        f"on the same proxy, type and stream; move one or merge them",
                    )
                )
    return problems
