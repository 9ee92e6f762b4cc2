"""report.html: the one page a release manager reads to decide.

Top to bottom: the verdict and its one-sentence reason; what broke, when and under
which fault; the objectives per phase; every phase's SLIs with the values that miss an
objective highlighted; charts over time (throughput and users, error rate, latency
percentiles, stack metrics) with fault windows shaded and restarts marked; the faults
as applied; the error budget; the integrity check; the experiment as run.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.load.stats import LoadStats
from harness.report.budget import Budget, budgets, format_duration_long
from harness.report.explain import describe_fault, findings, phase_breaches
from harness.report.model import RunFolder, RunResult, format_value
from harness.report.page import document, esc, status_text, table
from harness.report.series import LoadSeries, load_series, stack_metric_charts
from harness.report.svg import Band, Chart, VLine, format_seconds, render_chart

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
PHASE_SLIS = (
    ("availability", "availability", "%"),
    ("error_rate", "error rate", "%"),
    ("latency_p50", "p50", "ms"),
    ("latency_p95", "p95", "ms"),
    ("latency_p99", "p99", "ms"),
    ("throughput", "throughput", "req/s"),
    ("successful_bookings", "bookings", "%"),
)


def _verdict(result: RunResult) -> str:
    when = ""
    if result.started_at is not None:
        start = dt.datetime.fromtimestamp(result.started_at, tz=dt.timezone.utc)
        when = f" · started {start:%Y-%m-%d %H:%M:%S} UTC · {format_seconds(result.duration)}"
    return (
        f"<h1>{esc(result.name)}</h1>"
        f'<p class="question">{esc(result.description)}{esc(when)}</p>'
        f'<div class="verdict s-{esc(result.status)}" id="verdict">'
        f'<div class="status">{esc(result.status.upper())}</div>'
        f'<div class="reason">{esc(result.reason)}</div></div>'
    )


def _findings(result: RunResult, experiment: Mapping[str, Any]) -> str:
    items = []
    for finding in findings(result):
        faults = [
            f"{name.removeprefix('fault:')}: {describe_fault(experiment, name[6:])}"
            for name in finding.broken_in
            if name.startswith("fault:") and describe_fault(experiment, name[6:])
        ]
        extra = f"<br><span class='meta'>fault {esc('; '.join(faults))}</span>" if faults else ""
        items.append(f"<li>{status_text(finding.objective.status)} {esc(finding.sentence)}{extra}")
    integrity = result.integrity
    if integrity and not integrity.get("ok", True):
        items.append(f"<li>{status_text('fail')} integrity: {esc(integrity.get('summary', ''))}")
    for label in result.faults_missing:
        items.append(f"<li>{status_text('inconclusive')} fault {esc(label)} never took effect")
    if not items:
        return ""
    return f'<h2>What broke</h2><ul class="findings">{"".join(items)}</ul>'


def _objectives(result: RunResult) -> str:
    if not result.objectives:
        return "<h2>Objectives</h2><p>No objective was graded.</p>"
    parts = ["<h2>Objectives</h2>"]
    phases = list(dict.fromkeys(o.phase for o in result.objectives))
    for phase in phases:
        rows = [
            [
                esc(o.name),
                esc(o.target),
                esc(format_value(o.actual, o.unit)),
                esc(format_value(o.margin, o.unit) if o.margin is not None else "-"),
                status_text(o.status),
            ]
            for o in result.objectives
            if o.phase == phase
        ]
        window = result.phase(phase)
        span = f" ({format_seconds(window.start)}-{format_seconds(window.end)})" if window else ""
        parts.append(f"<h3>phase {esc(phase)}{esc(span)}</h3>")
        headers = ("objective", "target", "actual", "margin", "result")
        parts.append(table(headers, rows, numeric=(2, 3), css="objectives"))
    return "".join(parts)


def _phase_cell(value: float | None, unit: str, breached: bool) -> str:
    text = esc(format_value(value, unit) if value is not None else "-")
    return f'<td class="num breach">{text}</td>' if breached else text


def _phases(result: RunResult) -> str:
    if not result.phases:
        return ""
    rows = []
    for phase in result.phases:
        breaches = phase_breaches(result, phase)
        row = [esc(phase.name), esc(f"{format_seconds(phase.start)}-{format_seconds(phase.end)}")]
        row.append(str(phase.requests))
        row += [_phase_cell(phase.slis.get(k), u, k in breaches) for k, _, u in PHASE_SLIS]
        rows.append(row)
    headers = ["phase", "window", "requests"] + [label for _, label, _ in PHASE_SLIS]
    note = (
        '<p class="meta">A highlighted value misses a whole-run objective within that phase '
        "alone.</p>"
    )
    return "<h2>SLIs per phase</h2>" + table(headers, rows, numeric=range(2, 10)) + note


def _threshold(result: RunResult, slis: Sequence[str]) -> tuple[float | None, str]:
    for objective in result.objectives:
        if objective.sli in slis and objective.phase == "run" and not objective.endpoint:
            return objective.bound, f"objective {objective.sli} {objective.target}"
    return None, ""


def _load_charts(result: RunResult, series: LoadSeries) -> list[Chart]:
    bands = [Band(w.start, w.end, w.label) for w in result.fault_windows if w.applied]
    marks = [VLine(m.offset, f"{m.kind} {m.label}".strip()) for m in result.markers]
    common: dict[str, Any] = {"x_max": result.duration, "bands": bands, "marks": marks}
    err_bound, err_label = _threshold(result, ("error_rate",))
    lat_bound, lat_label = _threshold(result, ("latency_p95", "latency_p99", "latency_p50"))
    per = "" if series.step == 1 else f" ({series.step} s per point)"
    return [
        Chart("throughput", f"Throughput and users{per}", "req/s, users",
              [series.throughput, series.users], **common),
        Chart("error-rate", f"Error rate{per}", "%", [series.error_rate],
              threshold=err_bound, threshold_label=err_label, **common),
        Chart("latency", f"Latency percentiles, all endpoints{per}", "ms",
              [series.p50, series.p95, series.p99],
              threshold=lat_bound, threshold_label=lat_label, **common),
    ]  # fmt: skip


def _metric_charts(folder: RunFolder) -> list[Chart]:
    result = folder.result
    if not folder.stack_metrics or result.started_at is None:
        return []
    bands = [Band(w.start, w.end, w.label) for w in result.fault_windows if w.applied]
    marks = [VLine(m.offset, f"{m.kind} {m.label}".strip()) for m in result.markers]
    return [
        Chart(f"stack-{m.name}", m.name, "", m.series, result.duration, bands, marks)
        for m in stack_metric_charts(folder.stack_metrics, result.started_at)
    ]


def _chart_box(chart: Chart) -> str:
    return (
        f'<div class="chart-box"><h3>{esc(chart.title)}</h3>{render_chart(chart)}'
        '<div class="readout"></div></div>'
    )


def _charts(folder: RunFolder, stats: LoadStats | None) -> str:
    result = folder.result
    if stats is None or result.started_at is None or result.duration <= 0:
        return "<h2>Over time</h2><p>No per-second statistics were recorded for this run.</p>"
    series = load_series(stats, result.started_at, result.duration)
    charts = _load_charts(result, series)
    parts = ["<h2>Over time</h2>", '<p class="meta">Shaded: a fault in place. ']
    parts.append("Dotted vertical line: a restart. Dashed line: the objective's bound.</p>")
    parts += [_chart_box(c) for c in charts]
    metric_charts = _metric_charts(folder)
    if metric_charts:
        parts.append("<h2>Stack metrics</h2>")
        parts += [_chart_box(c) for c in metric_charts]
    return "".join(parts)


def _faults(result: RunResult, experiment: Mapping[str, Any]) -> str:
    if not result.fault_windows and not result.faults_missing:
        return "<h2>Faults</h2><p>None: this run injected no fault.</p>"
    rows = [
        [
            esc(w.label),
            esc(describe_fault(experiment, w.label) or w.detail),
            esc(f"{w.start:.1f}-{w.end:.1f} s" if w.applied else f"at {w.start:.1f} s"),
            status_text("pass") if w.applied else status_text("fail"),
        ]
        for w in result.fault_windows
    ]
    rows += [[esc(label), "", "", status_text("inconclusive")] for label in result.faults_missing]
    return "<h2>Faults</h2>" + table(("fault", "what", "in place", "applied"), rows)


def _budget_rows(items: Sequence[Budget]) -> list[list[str]]:
    rows = []
    for b in items:
        alerts = "; ".join(
            f"{a.alert.name} ({a.long_window}s/{a.short_window}s > {a.alert.factor:g}x): "
            + ("unknown" if a.fired is None else "FIRED" if a.fired else "quiet")
            for a in b.alerts
        )
        rows.append(
            [
                esc(b.objective.name),
                esc(f"{b.allowed:g} %" if b.allowed is not None else "-"),
                esc(f"{b.bad:.3f} %" if b.bad is not None else "-"),
                esc(f"{b.burn_rate:.2f}x" if b.burn_rate is not None else "-"),
                esc(f"{100 * b.consumed:.4f} %" if b.consumed is not None else "-"),
                esc(format_duration_long(b.lasts_seconds) if b.burn_rate is not None else "-"),
                esc(alerts or b.note),
            ]
        )
    return rows


def _budget(result: RunResult, stats: LoadStats | None) -> str:
    items = budgets(result, stats)
    if not items:
        return ""
    headers = ("objective", "budget", "bad", "burn rate", "of 30 days spent", "lasts", "alerts")
    note = (
        '<p class="meta">Burn rate: the bad share over the allowed share. Alerts follow the '
        "multi-window policy (fast 1 h/5 min above 14.4x, slow 6 h/30 min above 6x) with the "
        "run read as a scale model of 12 hours: each window is scaled by run length / 12 h.</p>"
    )
    return "<h2>Error budget</h2>" + table(headers, _budget_rows(items), range(1, 6)) + note


def _integrity(result: RunResult) -> str:
    data = result.integrity
    if not data:
        return "<h2>Integrity</h2><p>Not checked.</p>"
    status = "pass" if data.get("ok") else "fail"
    details = {k: v for k, v in data.items() if k not in ("ok", "summary")}
    return (
        f"<h2>Integrity</h2><p>{status_text(status)} {esc(data.get('summary', ''))}</p>"
        f"<details><summary>details</summary><pre>{esc(json.dumps(details, indent=2))}</pre>"
        "</details>"
    )


def _as_run(folder: RunFolder) -> str:
    parts = ["<h2>The experiment as run</h2>"]
    if folder.experiment:
        parts.append(f"<pre>{esc(json.dumps(folder.experiment, indent=2))}</pre>")
    else:
        parts.append("<p>experiment.json is not in the results folder.</p>")
    stack = folder.result.raw.get("stack")
    if stack:
        parts.append("<details><summary>stack</summary>")
        parts.append(f"<pre>{esc(json.dumps(stack, indent=2))}</pre></details>")
    results_dir = folder.result.results_dir or str(folder.path)
    version = folder.result.schema_version
    parts.append(f'<p class="meta">results: {esc(results_dir)} · verdict schema {version}</p>')
    return "".join(parts)


def render_html(folder: RunFolder) -> str:
    """The whole report page for one run, as text."""
    result, experiment = folder.result, folder.experiment
    stats = folder.stats()
    body = (
        _verdict(result)
        + _findings(result, experiment)
        + _objectives(result)
        + _phases(result)
        + _charts(folder, stats)
        + _faults(result, experiment)
        + _budget(result, stats)
        + _integrity(result)
        + _as_run(folder)
    )
    return document(f"{result.status.upper()}: {result.name}", body)


def write_html(folder: RunFolder, path: Path | None = None) -> Path:
    """Write report.html into the results folder (or to ``path``) and return its path."""
    target = path or folder.path / REPORT_FILE
    target.write_text(render_html(folder), encoding="utf-8")
    log.info("HTML report %s", target)
    return target
