"""What the service's own metrics said during the run, in a few numbers.

Read from ``stack-metrics.jsonl`` (see harness.backends.scraper): the most connections
in use and requests waiting at once, acquire timeouts and breaker openings over the
run, and how many scrapes found a replica down. These explain an objective's failure:
a saturated pool, a breaker that opened, replicas that stopped answering.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PEAKS = ("pool_connections_in_use", "pool_requests_waiting", "breaker_state")
COUNTERS = ("pool_acquire_timeouts_total", "breaker_opens_total")


def summarize_stack_metrics(path: Path) -> dict[str, Any]:
    """Peaks, counter increases and down scrapes, overall and per replica."""
    if not path.exists():
        return {}
    per_source: dict[str, dict[str, Any]] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        metrics = line.get("metrics", {})
        entry = per_source.setdefault(str(line.get("source")), {"scrapes": 0, "down": 0})
        entry["scrapes"] += 1
        if not metrics.get("up"):
            entry["down"] += 1
            continue
        for key in PEAKS:
            if key in metrics:
                entry[f"max_{key}"] = max(entry.get(f"max_{key}", 0.0), metrics[key])
        for key in COUNTERS:
            if key in metrics:
                _count(entry, key, float(metrics[key]))
    return {
        "replicas": {name: _finish(entry) for name, entry in per_source.items()},
        "total": _total(per_source),
    }


def _count(entry: dict[str, Any], key: str, value: float) -> None:
    """Add a counter's increase since the last scrape, as Prometheus' increase() does:
    a value below the last one means the replica restarted and counts from zero again."""
    last = entry.get(f"last_{key}")
    if last is not None:
        step = value - last if value >= last else value
        entry[f"increase_{key}"] = entry.get(f"increase_{key}", 0.0) + step
    else:
        entry[f"increase_{key}"] = 0.0
    entry[f"last_{key}"] = value


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in entry.items() if not k.startswith(("increase_", "last_"))}
    for key in COUNTERS:
        if f"increase_{key}" in entry:
            out[key.removesuffix("_total")] = entry[f"increase_{key}"]
    return out


def _total(per_source: dict[str, dict[str, Any]]) -> dict[str, Any]:
    finished = [_finish(e) for e in per_source.values()]
    total: dict[str, Any] = {"down_scrapes": sum(e["down"] for e in finished)}
    for key in PEAKS:
        values = [e[f"max_{key}"] for e in finished if f"max_{key}" in e]
        if values:
            total[f"max_{key}"] = max(values)
    for key in COUNTERS:
        short = key.removesuffix("_total")
        values = [e[short] for e in finished if short in e]
        if values:
            total[short] = sum(values)
    return total
