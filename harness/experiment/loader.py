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

from harness.errors import ExperimentError, Problem
from harness.experiment.compose import compose
from harness.experiment.durations import format_duration
from harness.experiment.model import (
    SLI,
    SLI_UNITS,
    TOXIC_ATTRIBUTES,
    Experiment,
    Fault,
    Objective,
    ToxicType,
)
from harness.experiment.source import Document, KeyPath, parse_text

# Proxies the reference stack puts in front of its dependencies.
KNOWN_PROXIES = ("postgres",)


def load_experiment(path: Path, overrides: list[str] | tuple[str, ...] = ()) -> Experiment:
    """Read, parse and validate an experiment file with its bases, vars and ``--set``s."""
    return validate_document(compose(path, overrides))


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
        return doc.problem(path, "required key is missing", at_key=True)
    message = str(err["msg"]).removeprefix("Value error, ")
    if path in doc.values and "input" in err and not isinstance(err["input"], (dict, list)):
        got = f"got {err['input']!r}"
        if got not in message:  # our own validators already name the bad value
            message += f" ({got})"
    return doc.problem(path, message)


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
    model: Any = Experiment
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _inner_model(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    """``list[Stage]`` -> Stage, ``Stage | None`` -> Stage."""
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return arg
    return annotation


def _cross_checks(doc: Document, experiment: Experiment) -> list[Problem]:
    problems: list[Problem] = []
    run_length = experiment.load.duration
    seen_names: dict[str, int] = {}
    for index, fault in enumerate(experiment.faults):
        path: KeyPath = ("faults", index)
        problems.extend(_attribute_problems(doc, path, fault))
        if fault.proxy not in KNOWN_PROXIES:
            problems.append(
                doc.problem(
                    (*path, "proxy"),
                    f"unknown proxy {fault.proxy!r}; the stack has: {', '.join(KNOWN_PROXIES)}",
                )
            )
        if fault.end > run_length + 1e-9:
            problems.append(
                doc.problem(
                    (*path, "duration"),
                    f"the fault ends at {format_duration(fault.end)}, after the load "
                    f"ends at {format_duration(run_length)}; faults must lie inside "
                    "the run",
                )
            )
        if fault.label in seen_names:
            problems.append(
                doc.problem(
                    (*path, "name"),
                    f"fault name {fault.label!r} is already used by faults"
                    f"[{seen_names[fault.label]}]; names must be unique",
                )
            )
        seen_names.setdefault(fault.label, index)
    problems.extend(_overlaps(doc, experiment.faults))
    for index, objective in enumerate(experiment.objectives):
        problems.extend(_objective_problems(doc, index, objective))
        problems.extend(_phase_problems(doc, index, objective, experiment))
    return problems


def _attribute_problems(doc: Document, path: KeyPath, fault: Fault) -> list[Problem]:
    allowed = TOXIC_ATTRIBUTES[fault.type]
    accepted = ", ".join(sorted(allowed)) or "none"
    problems = []
    if fault.ramp is not None:
        if not allowed:
            problems.append(
                doc.problem(
                    (*path, "ramp"), f"a {fault.type.value} fault has no attributes to ramp"
                )
            )
        for key, value in fault.ramp.to.items():
            if key not in allowed:
                problems.append(
                    doc.problem(
                        (*path, "ramp", "to", key),
                        f"unknown attribute "
                        f"{key!r} for toxic type {fault.type.value}; "
                        f"accepted: {accepted}",
                        at_key=True,
                    )
                )
            elif value < 0:
                problems.append(
                    doc.problem((*path, "ramp", "to", key), f"must not be negative (got {value})")
                )
    for key, value in fault.attributes.items():
        if key not in allowed:
            problems.append(
                doc.problem(
                    (*path, "attributes", key),
                    f"unknown attribute {key!r} for toxic type {fault.type.value}; "
                    f"accepted: {accepted}",
                    at_key=True,
                )
            )
        elif value < 0:
            problems.append(
                doc.problem((*path, "attributes", key), f"must not be negative (got {value})")
            )
    return problems


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


def _same_target(a: Fault, b: Fault) -> bool:
    if a.proxy != b.proxy:
        return False
    if ToxicType.down in (a.type, b.type):
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
