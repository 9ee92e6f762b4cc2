"""Prometheus metrics of one replica, in a registry of its own.

The pool numbers are read from psycopg_pool's ``get_stats()`` at scrape time, so a
scrape always shows the pool as it is now; nothing else calls ``pop_stats()``, so the
pool's cumulative counters stay cumulative.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The classic text format; every Prometheus-compatible scraper reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Booking latency sits around milliseconds when healthy and seconds under a stalled
# pool; the buckets cover both, with detail around a 500 ms objective.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)

# psycopg_pool get_stats() key -> (metric name, help) for the cumulative counters.
_POOL_COUNTERS = {
    "requests_num": ("booking_db_pool_requests", "Connections requested from the pool."),
    "requests_queued": ("booking_db_pool_requests_queued", "Requests that had to wait."),
    "connections_num": ("booking_db_pool_connections_opened", "Connections opened to the DB."),
    "connections_errors": ("booking_db_pool_connection_errors", "Failed connection attempts."),
    "connections_lost": ("booking_db_pool_connections_lost", "Connections found broken."),
}


class PoolCollector(Collector):
    """Reports the connection pool's state on every scrape."""

    def __init__(self, stats: Callable[[], Mapping[str, int]], in_use: Callable[[], int]):
        self._stats = stats
        self._in_use = in_use

    def collect(self) -> Iterator[Metric]:
        """Yield the pool gauges and the pool's own cumulative counters."""
        stats = self._stats()
        yield _gauge("booking_db_pool_size", "Configured maximum pool size.", stats["pool_max"])
        yield _gauge("booking_db_pool_min_size", "Configured minimum pool size.", stats["pool_min"])
        yield _gauge(
            "booking_db_pool_connections_open",
            "Connections the pool holds, in use, idle or being opened.",
            stats["pool_size"],
        )
        yield _gauge(
            "booking_db_pool_connections_in_use",
            "Connections lent to requests right now.",
            self._in_use(),
        )
        yield _gauge(
            "booking_db_pool_connections_idle",
            "Open connections waiting in the pool.",
            stats["pool_available"],
        )
        yield _gauge(
            "booking_db_pool_requests_waiting",
            "Requests queued for a connection right now.",
            stats["requests_waiting"],
        )
        for key, (name, help_text) in _POOL_COUNTERS.items():
            counter = CounterMetricFamily(name, help_text)
            counter.add_metric([], stats.get(key, 0))
            yield counter


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


class Metrics:
    """Every metric the service exports, registered in one private registry."""

    def __init__(self, replica: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_requests = Counter(
            "booking_http_requests",
            "HTTP requests answered, by route template and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "booking_http_request_duration_seconds",
            "Time from request received to response ready, by route template.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.acquire_timeouts = Counter(
            "booking_db_pool_acquire_timeouts",
            "Requests that gave up waiting for a pooled connection.",
            registry=self.registry,
        )
        info = Gauge(
            "booking_info",
            "Constant 1, labelled with the replica name.",
            ["replica"],
            registry=self.registry,
        )
        info.labels(replica=replica).set(1)

    def watch_pool(self, stats: Callable[[], Mapping[str, int]], in_use: Callable[[], int]) -> None:
        """Report the pool's numbers on every scrape from these two callables."""
        self.registry.register(PoolCollector(stats, in_use))

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.http_requests.labels(route=route, status=str(status)).inc()
        self.http_latency.labels(route=route).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
