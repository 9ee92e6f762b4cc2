"""The results folder of one run: ``results/<timestamp>-<experiment>/``.

experiment.json     the experiment as resolved and run (defaults filled in)
stack.json          addresses and timings of the stack
load-stats.jsonl    per-second, per-endpoint counts, outcomes and latency histograms
faults.jsonl        every fault applied or removed, with wall-clock timestamps
logs/               each service's log (postgres, toxiproxy, booking, locust)
verdict.json        the graded objectives, per-phase SLIs, integrity, the verdict
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def make_run_dir(results_root: Path, experiment_name: str) -> Path:
    """Create a fresh folder named for the time and the experiment."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = results_root.resolve() / f"{stamp}-{experiment_name}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    (path / "logs").mkdir()
    return path


def write_json(path: Path, data: Any) -> None:
    """Write indented JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
