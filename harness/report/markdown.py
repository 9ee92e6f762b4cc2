"""summary.md: the verdict in Markdown, for a CI step summary or a pull-request comment.

GitHub-flavoured: a heading with the status, the reason, what broke, the objectives,
the SLIs per phase (a value that misses a whole-run objective in bold), the faults,
the error budget and the integrity line. Short enough for a comment, and no HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.load.stats import LoadStats
from harness.report.budget import Budget, budgets, format_duration_long
from harness.report.explain import describe_fault, findings, phase_breaches
from harness.report.model import RunResult, format_value
from harness.report.svg import format_seconds

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.md"
ICONS = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️", "aborted": "⏹️"}
PHASE_COLUMNS = (
    ("availability", "availability", "%"),
    ("error_rate", "error rate", "%"),
    ("latency_p95", "p95", "ms"),
    ("latency_p99", "p99", "ms"),
    ("throughput", "throughput", "req/s"),
    ("successful_bookings", "bookings", "%"),
)


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> list[str]:
    """A GitHub table; the ``numeric`` columns are right-aligned."""
    right = set(numeric)
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _status(status: str) -> str:
    return f"{ICONS.get(status, '')} **{status.upper()}**".strip()


def _findings(result: RunResult, experiment: Mapping[str, Any]) -> list[str]:
    lines = []
    for finding in findings(result):
        line = f"- {_status(finding.objective.status)} {finding.sentence}"
        faults = [describe_fault(experiment, n[6:]) for n in finding.broken_in if n[:6] == "fault:"]
        faults = [f for f in faults if f]
        if faults:
            line += f" (fault: {'; '.join(faults)})"
        lines.append(line)
    if result.integrity and not result.integrity.get("ok", True):
        lines.append(f"- {_status('fail')} integrity: {result.integrity.get('summary', '')}")
    lines += [f"- fault `{label}` never took effect" for label in result.faults_missing]
    return ["### What broke", "", *lines, ""] if lines else []


def _objectives(result: RunResult) -> list[str]:
    if not result.objectives:
        return ["No objective was graded.", ""]
    rows = [
        [
            cell(o.name),
            cell(o.phase),
            cell(o.target),
            cell(format_value(o.actual, o.unit)),
            cell("-" if o.margin is None else format_value(o.margin, o.unit)),
            _status(o.status),
        ]
        for o in result.objectives
    ]
    headers = ("objective", "phase", "target", "actual", "margin", "result")
    return ["### Objectives", "", *md_table(headers, rows, numeric=(3, 4)), ""]


def _phases(result: RunResult) -> list[str]:
    if not result.phases:
        return []
    rows, any_breach = [], False
    for phase in result.phases:
        breaches = phase_breaches(result, phase)
        any_breach = any_breach or bool(breaches)
        row = [cell(phase.name), f"{format_seconds(phase.start)}-{format_seconds(phase.end)}"]
        for key, _, unit in PHASE_COLUMNS:
            value = phase.slis.get(key)
            text = "-" if value is None else format_value(value, unit)
            row.append(f"**{text}**" if key in breaches else text)
        rows.append(row)
    headers = ["phase", "window"] + [label for _, label, _ in PHASE_COLUMNS]
    table = md_table(headers, rows, numeric=range(2, len(headers)))
    note = "Bold: the value misses a whole-run objective within that phase alone."
    return ["### SLIs per phase", "", *table, "", note if any_breach else "", ""]


def _faults(result: RunResult, experiment: Mapping[str, Any]) -> list[str]:
    if not result.fault_windows:
        return []
    lines = ["### Faults", ""]
    for w in result.fault_windows:
        what = describe_fault(experiment, w.label) or w.detail
        state = f"{w.start:.1f}-{w.end:.1f} s" if w.applied else "**not applied**"
        lines.append(f"- `{w.label}`: {what} ({state})")
    return [*lines, ""]


def _budget_row(b: Budget) -> list[str]:
    fired = [a.alert.name for a in b.alerts if a.fired]
    quiet = all(a.fired is False for a in b.alerts) and b.alerts
    alerts = ", ".join(fired) + " fired" if fired else "none fired" if quiet else b.note or "-"
    return [
        cell(b.objective.name),
        f"{b.burn_rate:.2f}x" if b.burn_rate is not None else "-",
        f"{100 * b.consumed:.4f} %" if b.consumed is not None else "-",
        format_duration_long(b.lasts_seconds) if b.burn_rate is not None else "-",
        cell(alerts),
    ]


def _budget(result: RunResult, stats: LoadStats | None) -> list[str]:
    rows = [_budget_row(b) for b in budgets(result, stats) if b.allowed is not None]
    if not rows:
        return []
    headers = ("objective", "burn rate", "30-day budget spent", "budget lasts", "alerts")
    return ["### Error budget", "", *md_table(headers, rows, numeric=(1, 2, 3)), ""]


def render_markdown(
    result: RunResult,
    experiment: Mapping[str, Any] | None = None,
    stats: LoadStats | None = None,
) -> str:
    """The summary for one run, as Markdown text."""
    experiment = experiment or {}
    lines = [
        f"## {_status(result.status)}: `{result.name}`",
        "",
        f"> {result.description}" if result.description else "",
        "",
        f"**{result.reason}**",
        "",
    ]
    lines += _findings(result, experiment) + _objectives(result) + _phases(result)
    lines += _faults(result, experiment) + _budget(result, stats)
    integrity = result.integrity
    if integrity:
        mark = "ok" if integrity.get("ok") else "**VIOLATED**"
        lines.append(f"**Integrity:** {mark}: {integrity.get('summary', '')}")
    else:
        lines.append("**Integrity:** not checked")
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def write_markdown(
    result: RunResult, path: Path, experiment: Mapping[str, Any] | None = None,
    stats: LoadStats | None = None,
) -> Path:  # fmt: skip
    """Write the summary to ``path`` and return it."""
    path.write_text(render_markdown(result, experiment, stats), encoding="utf-8")
    log.info("Markdown summary %s", path)
    return path
