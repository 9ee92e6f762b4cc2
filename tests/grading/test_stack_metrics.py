"""The stack metrics summary: peaks, counter increases, and scrapes that found a replica down."""

from __future__ import annotations

import json
from pathlib import Path

from harness.grading.stack_metrics import summarize_stack_metrics


def test_peaks_increases_and_down_scrapes_per_replica_and_overall(tmp_path: Path) -> None:
    path = tmp_path / "stack-metrics.jsonl"
    lines = [
        {
            "source": "booking-1",
            "metrics": {"up": 1, "pool_connections_in_use": 3, "pool_acquire_timeouts_total": 10},
        },
        {
            "source": "booking-1",
            "metrics": {
                "up": 1,
                "pool_connections_in_use": 10,
                "pool_requests_waiting": 7,
                "pool_acquire_timeouts_total": 14,
            },
        },
        {"source": "booking-1", "metrics": {"up": 0}},
        {
            "source": "booking-2",
            "metrics": {
                "up": 1,
                "pool_connections_in_use": 4,
                "pool_acquire_timeouts_total": 0,
                "breaker_opens_total": 0,
                "breaker_state": 2,
            },
        },
        {
            "source": "booking-2",
            "metrics": {
                "up": 1,
                "pool_acquire_timeouts_total": 1,
                "breaker_opens_total": 2,
                "breaker_state": 0,
            },
        },
    ]
    path.write_text("".join(json.dumps({"t": i, **line}) + "\n" for i, line in enumerate(lines)))

    summary = summarize_stack_metrics(path)

    one = summary["replicas"]["booking-1"]
    assert (one["scrapes"], one["down"], one["max_pool_connections_in_use"]) == (3, 1, 10)
    assert one["pool_acquire_timeouts"] == 4
    total = summary["total"]
    assert total["pool_acquire_timeouts"] == 5
    assert total["breaker_opens"] == 2
    assert total["max_pool_requests_waiting"] == 7
    assert total["max_breaker_state"] == 2
    assert total["down_scrapes"] == 1


def test_no_metrics_file_means_no_summary(tmp_path: Path) -> None:
    assert summarize_stack_metrics(tmp_path / "absent.jsonl") == {}


def test_a_counter_that_restarts_from_zero_keeps_its_increase(tmp_path: Path) -> None:
    path = tmp_path / "stack-metrics.jsonl"
    values = [5, 9, 2, 6]  # the replica restarted between 9 and 2
    path.write_text(
        "".join(
            json.dumps(
                {
                    "t": i,
                    "source": "booking-1",
                    "metrics": {"up": 1, "pool_acquire_timeouts_total": v},
                }
            )
            + "\n"
            for i, v in enumerate(values)
        )
    )

    summary = summarize_stack_metrics(path)

    assert summary["replicas"]["booking-1"]["pool_acquire_timeouts"] == 4 + 2 + 4
