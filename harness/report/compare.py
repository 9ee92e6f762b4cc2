"""Two runs side by side: the same SLIs per phase, their deltas, and did it regress.

The baseline is a results folder or a saved verdict.json (``harness compare BASELINE
CANDIDATE``). Every SLI of every phase both runs have is compared; an SLI *regressed*
when the candidate is worse than the baseline by more than its tolerance.

Tolerance syntax (``--tolerance``, repeatable)::

    SLI[@PHASE]=AMOUNT      absolute, in the SLI's unit: availability=0.05 allows
                            0.05 percentage points less; latency_p95=20 allows 20 ms more
    SLI[@PHASE]=AMOUNT%     relative to the baseline value: latency_p95=10% allows 10 % more
    SLI[@PHASE]=off         not checked

``SLI`` may be ``*`` (every SLI); ``@PHASE`` limits the rule to one phase (``run``,
``baseline``, ``fault:db-latency``, ``recovery``). The most specific rule wins:
SLI@PHASE, then SLI, then *@PHASE, then *, then the defaults below. "Worse" follows
the SLI: lower availability, bookings or throughput; higher error rate or latency.
A relative tolerance on a baseline of 0 allows nothing, which is why the defaults for
percentages are absolute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.report.model import (
    HIGHER_IS_BETTER,
    SLI_UNITS,
    ReportError,
    RunResult,
    format_value,
    load_run,
)
from harness.report.page import document, esc, status_text, table


@dataclass(frozen=True)
class Tolerance:
    """How much worse one SLI may get; ``amount`` None means not checked."""

    sli: str
    phase: str | None
    amount: float | None
    relative: bool = False

    def allowed(self, baseline: float) -> float:
        """How far the candidate may be worse than ``baseline``, in the SLI's unit."""
        if self.amount is None:
            return math.inf
        return self.amount / 100.0 * abs(baseline) if self.relative else self.amount

    def __str__(self) -> str:
        if self.amount is None:
            return "off"
        return f"{self.amount:g}%" if self.relative else f"{self.amount:g}"


DEFAULT_TOLERANCES = (
    Tolerance("availability", None, 0.1),
    Tolerance("error_rate", None, 0.1),
    Tolerance("successful_bookings", None, 0.5),
    Tolerance("latency_p50", None, 10.0, relative=True),
    Tolerance("latency_p95", None, 10.0, relative=True),
    Tolerance("latency_p99", None, 10.0, relative=True),
    Tolerance("throughput", None, 10.0, relative=True),
)

_RULE = re.compile(r"^\s*(?P<sli>\*|[a-z0-9_]+)(?:@(?P<phase>[^=]+))?\s*=\s*(?P<amount>.+?)\s*$")


def parse_tolerance(text: str) -> Tolerance:
    """One ``SLI[@PHASE]=AMOUNT[%]`` rule; a bad rule raises ReportError saying why."""
    match = _RULE.match(text)
    if not match:
        raise ReportError(
            f"tolerance {text!r}: expected SLI[@PHASE]=AMOUNT or AMOUNT% or off, "
            "e.g. latency_p95=10% or availability=0.05"
        )
    sli, phase, amount = match["sli"], match["phase"], match["amount"]
    if sli != "*" and sli not in SLI_UNITS:
        known = ", ".join(sorted(SLI_UNITS))
        raise ReportError(f"tolerance {text!r}: unknown SLI {sli!r}; known: {known}, or *")
    if amount == "off":
        return Tolerance(sli, phase, None)
    relative = amount.endswith("%")
    try:
        value = float(amount.removesuffix("%"))
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise ReportError(f"tolerance {text!r}: the amount must be a number >= 0, got {amount!r}")
    return Tolerance(sli, phase, value, relative)


def tolerance_for(sli: str, phase: str, rules: Sequence[Tolerance]) -> Tolerance | None:
    """The most specific rule for ``sli`` in ``phase``: user rules first, then defaults."""
    for want_sli, want_phase in ((sli, phase), (sli, None), ("*", phase), ("*", None)):
        for rule in rules:
            if rule.sli == want_sli and rule.phase == want_phase:
                return rule
    return next((d for d in DEFAULT_TOLERANCES if d.sli == sli), None)


@dataclass(frozen=True)
class Row:
    """One SLI of one phase in both runs."""

    phase: str
    sli: str
    baseline: float | None
    candidate: float | None
    tolerance: Tolerance | None

    @property
    def unit(self) -> str:
        """The SLI's unit."""
        return SLI_UNITS.get(self.sli, "")

    @property
    def delta(self) -> float | None:
        """Candidate minus baseline, in the SLI's unit."""
        if self.baseline is None or self.candidate is None:
            return None
        return self.candidate - self.baseline

    @property
    def worse_by(self) -> float | None:
        """How much worse the candidate is (negative: better)."""
        delta = self.delta
        if delta is None:
            return None
        return -delta if self.sli in HIGHER_IS_BETTER else delta

    @property
    def regressed(self) -> bool:
        """Worse than the baseline by more than the tolerance allows."""
        worse = self.worse_by
        if worse is None or self.tolerance is None or self.baseline is None:
            return False
        return worse > self.tolerance.allowed(self.baseline) + 1e-9


@dataclass(frozen=True)
class Comparison:
    """Every compared SLI, and what could not be compared."""

    baseline: RunResult
    candidate: RunResult
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def regressions(self) -> list[Row]:
        """The rows where the candidate regressed beyond its tolerance."""
        return [row for row in self.rows if row.regressed]

    @property
    def regressed(self) -> bool:
        """True when any SLI regressed: the comparison fails."""
        return bool(self.regressions)


def compare(
    baseline: RunResult, candidate: RunResult, tolerances: Sequence[Tolerance] = ()
) -> Comparison:
    """Compare every SLI of every phase the two runs share."""
    notes = []
    if baseline.name != candidate.name:
        notes.append(f"different experiments: {baseline.name} and {candidate.name}")
    rows = []
    for phase in baseline.phases:
        other = candidate.phase(phase.name)
        if other is None:
            notes.append(f"phase {phase.name} is not in the candidate")
            continue
        for sli in phase.slis:
            rule = tolerance_for(sli, phase.name, tolerances)
            rows.append(Row(phase.name, sli, phase.slis.get(sli), other.slis.get(sli), rule))
            if rows[-1].candidate is None and rows[-1].baseline is not None:
                notes.append(f"{sli} in {phase.name}: no data in the candidate")
    notes += [
        f"phase {p.name} is only in the candidate"
        for p in candidate.phases
        if baseline.phase(p.name) is None
    ]
    return Comparison(baseline, candidate, tuple(rows), tuple(notes))


def _delta_text(row: Row) -> str:
    delta = row.delta
    if delta is None:
        return "-"
    text = f"{delta:+.3f}" if row.unit == "%" else f"{delta:+.1f}"
    if row.baseline:
        text += f" ({100 * delta / abs(row.baseline):+.1f}%)"
    return text


def _verdict_text(row: Row) -> str:
    if row.regressed:
        return "REGRESSED"
    worse = row.worse_by
    if worse is not None and worse < 0:
        return "better"
    return "ok" if row.tolerance and row.tolerance.amount is not None else "not checked"


def render_compare_console(console: Console, comparison: Comparison) -> None:
    """The comparison as a rich table, then the notes and the conclusion."""
    b, c = comparison.baseline, comparison.candidate
    table_ = Table(title=f"baseline {b.name} ({b.status}) vs candidate {c.name} ({c.status})")
    for column in ("phase", "SLI", "baseline", "candidate", "delta", "tolerance"):
        table_.add_column(
            column, justify="right" if column in ("baseline", "candidate") else "left"
        )
    # The result must stay readable in a narrow terminal: other columns wrap first.
    table_.add_column("result", no_wrap=True, min_width=len("REGRESSED"))
    for row in comparison.rows:
        verdict = _verdict_text(row)
        style = {"REGRESSED": "bold red", "better": "green"}.get(verdict, "")
        table_.add_row(
            row.phase, row.sli, format_value(row.baseline, row.unit),
            format_value(row.candidate, row.unit), _delta_text(row),
            str(row.tolerance) if row.tolerance else "-",
            f"[{style}]{verdict}[/]" if style else verdict,
        )  # fmt: skip
    console.print(table_)
    for note in comparison.notes:
        console.print(f"note: {note}", markup=False)
    console.print(conclusion(comparison), markup=False)


def conclusion(comparison: Comparison) -> str:
    """One sentence: regressed or not, and which SLIs."""
    bad = comparison.regressions
    if not bad:
        return f"no regression beyond tolerance in {len(comparison.rows)} compared SLIs"
    names = ", ".join(f"{r.sli}@{r.phase} {_delta_text(r)}" for r in bad)
    return f"{len(bad)} SLI(s) regressed beyond tolerance: {names}"


def render_compare_html(comparison: Comparison) -> str:
    """The comparison as a self-contained HTML page."""
    b, c = comparison.baseline, comparison.candidate
    rows = []
    for row in comparison.rows:
        verdict = _verdict_text(row)
        css = {"REGRESSED": "worse", "better": "better"}.get(verdict, "")
        rows.append(
            [
                esc(row.phase), esc(row.sli), esc(format_value(row.baseline, row.unit)),
                esc(format_value(row.candidate, row.unit)), esc(_delta_text(row)),
                esc(str(row.tolerance) if row.tolerance else "-"),
                f'<span class="{css}">{esc(verdict)}</span>' if css else esc(verdict),
            ]
        )  # fmt: skip
    status = "fail" if comparison.regressed else "pass"
    body = (
        f"<h1>{esc(c.name)}: candidate against baseline</h1>"
        f'<div class="verdict s-{status}" id="verdict"><div class="status">'
        f"{'REGRESSED' if comparison.regressed else 'NO REGRESSION'}</div>"
        f'<div class="reason">{esc(conclusion(comparison))}</div></div>'
        f"<p>baseline: {esc(b.results_dir or b.name)} {status_text(b.status)}<br>"
        f"candidate: {esc(c.results_dir or c.name)} {status_text(c.status)}</p>"
        + table(
            ("phase", "SLI", "baseline", "candidate", "delta", "tolerance", "result"),
            rows,
            numeric=(2, 3, 4),
        )
        + "".join(f'<p class="meta">note: {esc(n)}</p>' for n in comparison.notes)
    )
    return document(f"compare {c.name}", body)


def compare_paths(
    baseline: Path,
    candidate: Path,
    tolerances: Sequence[str] = (),
    *,
    console: Console | None = None,
    html: Path | None = None,
) -> Comparison:
    """``harness compare``: read both runs, compare, print, and write the HTML if asked.

    ``baseline`` and ``candidate`` are results folders or verdict files. Bad tolerance
    rules and unreadable runs raise ReportError before anything is printed.
    """
    rules = [parse_tolerance(text) for text in tolerances]
    comparison = compare(load_run(baseline).result, load_run(candidate).result, rules)
    if console is not None:
        render_compare_console(console, comparison)
    if html is not None:
        html.write_text(render_compare_html(comparison), encoding="utf-8")
    return comparison
