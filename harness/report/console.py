"""The verdict in the terminal: one rich table of objectives and one of phases."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

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
    table = Table(title=f"SLOs: {result['experiment']['name']}", title_justify="left")
    for column in ("objective", "phase", "target", "actual", "margin", "result"):
        table.add_column(column, justify="right" if column in ("actual", "margin") else "left")
    for item in verdict["objectives"]:
        name = item["sli"] + (f" [{item['endpoint']}]" if item["endpoint"] else "")
        status = item["status"]
        table.add_row(
            name,
            item["phase"],
            item["target"],
            _fmt(item["actual"], item["unit"], 3),
            _fmt(item["margin"], item["unit"], 3),
            f"[{STYLES.get(status, '')}]{status.upper()}[/]",
        )
    console.print(table)

    phases = Table(title="SLIs per phase", title_justify="left")
    for column in ("phase", "window", "requests", "availability", "error rate", "p95", "bookings"):
        phases.add_column(column, justify="left" if column in ("phase", "window") else "right")
    for phase in result["phases"]:
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
    console.print(f"verdict: [{style}]{verdict['status'].upper()}[/] — {verdict['reason']}")
    console.print(f"results: {result['results_dir']}")
