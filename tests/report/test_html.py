"""report.html as text: what a reader sees first, where it broke, charts and overlays."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.report.html import render_html, write_html
from harness.report.model import load_run
from harness.report.svg import nice_step

from .runs import ABORTED_BEFORE_LOAD, Load, make_run, write_jsonl, write_verdict


def test_the_verdict_and_its_reason_come_before_everything_else(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path)))

    verdict = html.index('id="verdict"')
    assert verdict < html.index("<h2>")
    assert "FAIL" in html[verdict : verdict + 200]
    assert "1 of 4 objectives failed: latency_p95 900.1 ms (target &lt; 500 ms)" in html


def test_what_broke_names_the_objective_and_the_fault_it_broke_under(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path)))

    section = html[html.index("What broke") : html.index("<h2>Objectives")]
    assert "latency_p95" in section
    assert "it broke during fault:db-latency (900.1 ms)" in section
    assert "baseline (20.0 ms)" in section
    assert "latency (latency=800) on postgres downstream, 20s-40s" in section


def test_the_phase_value_that_misses_an_objective_is_highlighted(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path)))

    breaches = re.findall(r'<td class="num breach">([^<]*)</td>', html)
    # The whole run and the fault window miss p95 < 500 ms; baseline and recovery do not.
    assert breaches == ["900.1 ms", "900.1 ms"]


def test_charts_shade_the_fault_window_and_draw_the_objective_bound(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path, Load(seconds=60, fault=(20.0, 40.0)))))

    charts = re.findall(r'<svg class="chart" data-chart="([\w-]+)"', html)
    assert charts == ["throughput", "error-rate", "latency"]
    bands = re.findall(r'<rect class="fault-window" x="([\d.]+)" y="\d+" width="([\d.]+)"', html)
    assert len(bands) == 3
    # 20 s to 40 s of 60 s on an axis of 820 px starting at 64 px.
    x, width = map(float, bands[0])
    assert abs(x - (64 + 820 * 20 / 60)) < 1 and abs(width - 820 * 20 / 60) < 1
    assert html.count('class="threshold"') == 2  # error rate and latency objectives


def test_latency_points_merge_every_endpoint_per_second(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path, Load(seconds=30, fault=(10.0, 20.0)))))

    svg = re.search(r'data-chart="latency"[^>]*data-series="([^"]*)"', html)
    assert svg is not None
    data = json.loads(svg.group(1).replace("&quot;", '"'))
    p95 = {int(x): y for x, y in data["lines"][1]["points"]}  # x: mid-second
    assert abs(p95[15] - 900) < 1  # half the requests slow: p95 is a slow one
    assert abs(p95[5] - 20) < 0.1


def test_restarts_and_stack_metrics_appear_when_the_run_recorded_them(tmp_path: Path) -> None:
    restarts = {"restarts": [{"offset": 30.0, "replica": "booking-2"}]}
    folder = make_run(tmp_path, extra=restarts)
    write_jsonl(
        folder / "stack-metrics.jsonl",
        [
            {"t": 1_800_000_000 + s, "source": "booking-1", "metrics": {"pool_in_use": s % 7}}
            for s in range(60)
        ],
    )

    html = render_html(load_run(folder))

    assert html.count('class="marker"') == 4  # on every chart, the stack metric too
    assert "restart booking-2" in html
    assert 'data-chart="stack-pool_in_use"' in html


def test_a_run_aborted_before_the_load_still_renders(tmp_path: Path) -> None:
    folder = write_verdict(tmp_path / "run", ABORTED_BEFORE_LOAD)

    html = render_html(load_run(folder))

    assert "ABORTED" in html
    assert "No per-second statistics" in html
    assert "No objective was graded" in html


def test_the_report_is_written_into_the_results_folder(tmp_path: Path) -> None:
    folder = make_run(tmp_path)

    path = write_html(load_run(folder))

    assert path == folder / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_the_page_refers_to_nothing_outside_itself(tmp_path: Path) -> None:
    html = render_html(load_run(make_run(tmp_path)))

    assert not re.search(r'(?:src|href|action)="', html)
    assert "url(" not in html
    assert "default-src 'none'" in html


def test_axis_steps_are_round_numbers() -> None:
    assert nice_step(90, 8) == 20
    assert nice_step(2500) == 500
    assert nice_step(0.12) == 0.05
