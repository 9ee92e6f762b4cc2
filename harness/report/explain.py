"""Why the run got its verdict, in sentences every report shares.

An objective graded over the whole run says *that* it failed; the per-phase SLIs say
*when*. For each failed objective this module looks for the phases (baseline, each fault
window, recovery) whose own value misses the objective's bound, and names the fault that
was in place, so the HTML, Markdown and terminal reports all tell the same story:
"latency_p95 broke during fault:db-latency (2087.9 ms); baseline 27.2 ms".

Phase SLIs cover every endpoint, so an objective restricted to one endpoint is located
only when the verdict grades it per phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.report.model import ObjectiveView, PhaseView, RunResult, format_value
from harness.report.svg import format_seconds


@dataclass(frozen=True)
class Finding:
    """One objective that did not pass, where it broke, and the sentence saying so."""

    objective: ObjectiveView
    broken_in: tuple[str, ...]
    sentence: str


def describe_fault(experiment: Mapping[str, Any], label: str) -> str:
    """``latency 150 ms, jitter 20 on postgres (downstream), 35s-65s`` from experiment.json."""
    for fault in experiment.get("faults") or []:
        name = fault.get("name") or (
            f"{fault.get('proxy')}-{fault.get('type')}-{fault.get('stream', 'downstream')}"
        )
        if name != label:
            continue
        attrs = ", ".join(f"{k}={v}" for k, v in (fault.get("attributes") or {}).items())
        at, duration = float(fault.get("at", 0)), float(fault.get("duration", 0))
        what = f"{fault.get('type')}" + (f" ({attrs})" if attrs else "")
        toxicity = fault.get("toxicity", 1.0)
        share = "" if toxicity in (None, 1, 1.0) else f", toxicity {toxicity:g}"
        return (
            f"{what} on {fault.get('proxy')} {fault.get('stream', '')}{share}, "
            f"{format_seconds(at)}-{format_seconds(at + duration)}"
        ).replace("  ", " ")
    return ""


def _sub_phases(result: RunResult, objective: ObjectiveView) -> list[PhaseView]:
    if objective.phase != "run" or objective.endpoint:
        return []
    return [p for p in result.phases if p.name != "run"]


def _value_text(objective: ObjectiveView, phase: PhaseView) -> str:
    return f"{phase.name} ({format_value(phase.slis.get(objective.sli), objective.unit)})"


def explain_objective(result: RunResult, objective: ObjectiveView) -> Finding:
    """Where one objective broke, as phase names and one sentence."""
    head = (
        f"{objective.name} was {format_value(objective.actual, objective.unit)} "
        f"over {objective.phase} (target {objective.target})"
    )
    if objective.actual is None:
        return Finding(objective, (), f"{head}: there was no data to judge it")
    phases = _sub_phases(result, objective)
    broken = [p for p in phases if objective.breached_by(p.slis.get(objective.sli))]
    held = [p for p in phases if p not in broken and p.slis.get(objective.sli) is not None]
    if not phases:
        return Finding(objective, (), head)
    if not broken:
        return Finding(objective, (), f"{head}; no single phase missed the target on its own")
    where = ", ".join(_value_text(objective, p) for p in broken)
    sentence = f"{head}: it broke during {where}"
    if held:
        sentence += "; it held in " + ", ".join(_value_text(objective, p) for p in held)
    if all(p.fault is None for p in broken):
        sentence += " (no fault was in place then)"
    return Finding(objective, tuple(p.name for p in broken), sentence)


def findings(result: RunResult) -> list[Finding]:
    """A finding for every objective that failed or could not be judged."""
    return [explain_objective(result, o) for o in result.objectives if o.status != "pass"]


def phase_breaches(result: RunResult, phase: PhaseView) -> set[str]:
    """The SLIs of ``phase`` whose value misses a whole-run objective's bound."""
    return {
        o.sli
        for o in result.objectives
        if o.phase == "run" and not o.endpoint and o.breached_by(phase.slis.get(o.sli))
    }
