"""Checks across fields, made once the typed model has accepted an experiment.

Faults inside the run, no overlapping faults on one target, known proxies and
replicas, unique names, attribute ranges, guards within their SLI's range, and
objective phases that exist on this experiment's timeline.
"""

from __future__ import annotations

from harness.errors import Problem
from harness.experiment.durations import format_duration
from harness.experiment.model import (
    MAX_RUN_SECONDS,
    SLI,
    SLI_UNITS,
    TOXIC_ATTRIBUTES,
    Experiment,
    Fault,
    FaultType,
    Guard,
    Objective,
)
from harness.experiment.source import Document, KeyPath

KNOWN_PROXIES = ("postgres",)


def cross_checks(doc: Document, experiment: Experiment) -> list[Problem]:
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
