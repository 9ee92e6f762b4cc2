"""The frame every HTML report shares: one file, inline style and script, nothing fetched.

A report is opened from disk, mailed, or kept as a CI artifact years later, so it must
not depend on the network: no font, stylesheet, script or image comes from anywhere but
the file itself. The script only adds a value readout under the pointer on charts; the
page reads fully without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from harness import __version__

STYLE = """
:root { --pass:#1a7f37; --fail:#cf222e; --warn:#9a6700; --abort:#8250df; --mute:#57606a; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:#1f2328;
  margin: 0 auto; max-width: 1000px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.question { color: var(--mute); margin: 0 0 16px; }
.verdict { border-radius: 8px; padding: 14px 18px; color: #fff; margin-bottom: 12px; }
.verdict .status { font-size: 26px; font-weight: 700; letter-spacing: .04em; }
.verdict .reason { font-size: 16px; margin-top: 2px; }
.s-pass { background: var(--pass); } .s-fail { background: var(--fail); }
.s-inconclusive { background: var(--warn); } .s-aborted { background: var(--abort); }
.t-pass { color: var(--pass); font-weight: 600; } .t-fail { color: var(--fail); font-weight: 700; }
.t-inconclusive { color: var(--warn); font-weight: 600; }
.t-aborted { color: var(--abort); font-weight: 600; }
ul.findings li { margin-bottom: 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eaeef2; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.breach { background: #ffebe9; color: var(--fail); font-weight: 600; }
.better { color: var(--pass); } .worse { color: var(--fail); font-weight: 600; }
.meta { color: var(--mute); font-size: 12px; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; font-size: 12px; }
.chart-box { position: relative; margin: 6px 0 14px; }
.chart-box h3 { font-size: 14px; margin: 0; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: #eaeef2; } svg.chart .tick, svg.chart .unit, svg.chart .legend
  { font-size: 11px; fill: #57606a; }
svg.chart .series { fill: none; stroke-width: 1.6; }
svg.chart .fault-window { fill: #cf222e; fill-opacity: .10; }
svg.chart .band-label { font-size: 11px; fill: #cf222e; }
svg.chart .marker { stroke: #8250df; stroke-width: 1.5; stroke-dasharray: 2 2; }
svg.chart .threshold { stroke: #cf222e; stroke-width: 1; stroke-dasharray: 6 4; }
.readout { position: absolute; pointer-events: none; background: rgba(255,255,255,.95);
  border: 1px solid #d0d7de; border-radius: 4px; padding: 4px 6px; font-size: 12px;
  display: none; white-space: nowrap; }
"""

# Shows the values of the nearest point under the pointer; reads data-series only.
SCRIPT = """
document.querySelectorAll('.chart-box').forEach(function (box) {
  var svg = box.querySelector('svg.chart'), tip = box.querySelector('.readout');
  if (!svg || !tip) { return; }
  var data = JSON.parse(svg.getAttribute('data-series'));
  svg.addEventListener('mousemove', function (ev) {
    var r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    var px = (ev.clientX - r.left) * vb.width / r.width;
    var x = (px - data.x[0]) / (data.x[1] - data.x[0]) * data.x[2];
    var rows = [];
    data.lines.forEach(function (line) {
      var best = null;
      line.points.forEach(function (p) {
        if (best === null || Math.abs(p[0] - x) < Math.abs(best[0] - x)) { best = p; }
      });
      if (best && best[1] !== null) { rows.push(line.label + ': ' + best[1] + ' ' + data.unit); }
      if (best && rows.length === 1) { rows.unshift('t = ' + best[0].toFixed(1) + ' s'); }
    });
    tip.textContent = rows.join(' | ');
    tip.style.display = rows.length ? 'block' : 'none';
    tip.style.left = Math.min(ev.clientX - r.left + 12, r.width - 260) + 'px';
    tip.style.top = '24px';
  });
  svg.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
});
"""


# The browser itself refuses anything from outside the file, should a link slip in.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def esc(value: object) -> str:
    """Text made safe for HTML content and attribute values."""
    return escape(str(value), quote=True)


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Iterable[int] = (),
    css: str = "",
) -> str:
    """An HTML table; cells are given already escaped (they may hold markup).

    A cell may start with ``<td`` to bring its own attributes (a highlighted breach).
    """
    right = set(numeric)
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in right else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if cell.startswith("<td"):
                cells.append(cell)
            else:
                cells.append(f'<td class="num">{cell}</td>' if i in right else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def status_text(status: str) -> str:
    """A status word coloured by its class."""
    return f'<span class="t-{esc(status)}">{esc(status.upper())}</span>'


def document(title: str, body: str) -> str:
    """A complete HTML document around ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"{body}"
        f'<p class="meta">made by concert-chaos-harness {esc(__version__)}</p>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )
