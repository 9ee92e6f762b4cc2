"""The verdict in the terminal: objectives, what broke and when, and the SLIs per phase."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from harness.report.explain import findings
from harness.report.model import ReportError, result_from_json

STYLES = {
    "pass": "bold green",
    "fail": "bold red",
    "inconclusive": "bold yellow",
    "aborted": "bold magenta",
}


def _fmt(value: float | None, unit: str, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}%" if unit == "%" else f"{value:.1f} {unit}"


def render_verdict(console: Console, result: dict[str, Any]) -> None:
    """Print the objective table, the per-phase SLIs and the one-line verdict."""
    verdict = result["verdict"]
    name = (result.get("experiment") or {}).get("name", "?")
    table = Table(title=f"SLOs: {name}", title_justify="left")
    for column in ("objective", "phase", "target", "actual", "margin", "result"):
        table.add_column(column, justify="right" if column in ("actual", "margin") else "left")
    for item in verdict.get("objectives") or []:
        label = item["sli"] + (f" [{item['endpoint']}]" if item.get("endpoint") else "")
        status = item["status"]
        table.add_row(
            label,
            item.get("phase", "run"),
            item["target"],
            _fmt(item.get("actual"), item.get("unit", ""), 3),
            _fmt(item.get("margin"), item.get("unit", ""), 3),
            f"[{STYLES.get(status, '')}]{status.upper()}[/]",
        )
    console.print(table)
    _print_findings(console, result)

    phases = Table(title="SLIs per phase", title_justify="left")
    for column in ("phase", "window", "requests", "availability", "error rate", "p95", "bookings"):
        phases.add_column(column, justify="left" if column in ("phase", "window") else "right")
    for phase in result.get("phases") or []:
        s = phase["slis"]
        phases.add_row(
            phase["name"],
            f"{phase['start']:.0f}-{phase['end']:.0f}s",
            str(phase["requests"]),
            _fmt(s.get("availability"), "%"),
            _fmt(s.get("error_rate"), "%"),
            _fmt(s.get("latency_p95"), "ms"),
            _fmt(s.get("successful_bookings"), "%"),
        )
    console.print(phases)

    integrity = verdict.get("integrity") or {}
    if integrity:
        mark = "[green]ok[/]" if integrity.get("ok") else "[bold red]VIOLATED[/]"
        console.print(f"integrity: {mark} — {integrity.get('summary', '')}")
    style = STYLES.get(verdict["status"], "")
    status = verdict["status"].upper()
    console.print(f"verdict: [{style}]{status}[/] — {verdict.get('reason', '')}")
    console.print(f"results: {result.get('results_dir', '')}")


def _print_findings(console: Console, result: dict[str, Any]) -> None:
    """One line per objective that did not pass: where it broke, under which fault."""
    try:
        explained = findings(result_from_json(result))
    except ReportError:
        return
    for finding in explained:
        style = STYLES.get(finding.objective.status, "")
        console.print(f"[{style}]{finding.objective.status.upper()}[/] ", end="")
        console.print(finding.sentence, markup=False, highlight=False)
