"""Stack metrics over time: each replica's Prometheus endpoint scraped once a second.

Only the samples that explain the incident are kept (the connection pool and the
circuit breaker), named without their ``booking_db_`` prefix, one JSON line per
replica per scrape in ``stack-metrics.jsonl``, the shape the reports chart:

    {"t": 1733241600.2, "source": "booking-1",
     "metrics": {"up": 1, "pool_connections_in_use": 12.0, "pool_requests_waiting": 0.0}}

A replica that does not answer (restarting, paused, dead) is recorded with ``up`` 0.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

PREFIX = "booking_db_"
KEPT = (
    "pool_size",
    "pool_connections_in_use",
    "pool_requests_waiting",
    "pool_acquire_timeouts_total",
    "breaker_state",
    "breaker_opens_total",
)
INTERVAL = 1.0
TIMEOUT = 0.5


def scrape(url: str) -> dict[str, float] | None:
    """The kept samples of one metrics endpoint, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=TIMEOUT) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError, ValueError):
        return None
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            short = sample.name.removeprefix(PREFIX)
            if sample.name.startswith(PREFIX) and short in KEPT and not sample.labels:
                values[short] = float(sample.value)
    return values


class MetricsScraper:
    """Scrapes every replica in a background thread until stopped."""

    def __init__(self, replica_urls: Callable[[], dict[str, str]], path: Path) -> None:
        self.replica_urls = replica_urls
        self.path = path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> MetricsScraper:
        self._thread = threading.Thread(target=self._run, name="metrics-scraper", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            lines = []
            for name, url in self.replica_urls().items():
                values = scrape(url)
                metrics = {"up": 0.0} if values is None else {"up": 1.0, **values}
                lines.append(json.dumps({"t": time.time(), "source": name, "metrics": metrics}))
            with open(self.path, "a", encoding="utf-8") as out:
                out.write("".join(f"{line}\n" for line in lines))
