"""Prometheus metrics of one replica, in a registry of its own.

The pool numbers are read from psycopg_pool's ``get_stats()`` at scrape time, so a
scrape always shows the pool as it is now; nothing else calls ``pop_stats()``, so the
pool's cumulative counters stay cumulative. Requests waiting and connections in use
are counted by the service itself: psycopg_pool keeps a request that gave up waiting
in its queue until a connection comes back, so its own count overstates a stall.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

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
    "connections_num": (
        "booking_db_pool_connections_opened",
        "Connection attempts made to the database, failed ones included.",
    ),
    "connections_errors": ("booking_db_pool_connection_errors", "Failed connection attempts."),
    "connections_lost": ("booking_db_pool_connections_lost", "Connections found broken."),
}


class PoolView(Protocol):
    """What the metrics read from the database layer at each scrape."""

    def pool_stats(self) -> Mapping[str, int]:
        """psycopg_pool's ``get_stats()``."""

    def in_use(self) -> int:
        """Connections lent to requests right now."""

    def waiting(self) -> int:
        """Requests waiting for a connection right now (given up ones excluded)."""

    def startup_seconds(self) -> float | None:
        """Seconds the pool took to first open its minimum of connections; None until then."""


class PoolCollector(Collector):
    """Reports the connection pool's state on every scrape."""

    def __init__(self, pool: PoolView) -> None:
        self._pool = pool

    def collect(self) -> Iterator[Metric]:
        """Yield the pool gauges and the pool's own cumulative counters."""
        stats = self._pool.pool_stats()
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
            self._pool.in_use(),
        )
        yield _gauge(
            "booking_db_pool_connections_idle",
            "Open connections waiting in the pool.",
            stats["pool_available"],
        )
        yield _gauge(
            "booking_db_pool_requests_waiting",
            "Requests waiting for a connection right now.",
            self._pool.waiting(),
        )
        startup = self._pool.startup_seconds()
        if startup is not None:
            yield _gauge(
                "booking_db_pool_startup_seconds",
                "Seconds from start until the pool first held its minimum of connections.",
                startup,
            )
        yield from _pool_counters(stats)


def _pool_counters(stats: Mapping[str, int]) -> Iterator[Metric]:
    for key, (name, help_text) in _POOL_COUNTERS.items():
        counter = CounterMetricFamily(name, help_text)
        counter.add_metric([], stats.get(key, 0))
        yield counter
    connect = CounterMetricFamily(
        "booking_db_pool_connect_seconds",
        "Time spent opening connections that succeeded.",
    )
    connect.add_metric([], stats.get("connections_ms", 0) / 1000.0)
    yield connect


class BreakerCollector(Collector):
    """Reports the circuit breaker's state (0 closed, 1 half-open, 2 open) on every scrape."""

    def __init__(self, state: Callable[[], int]) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        """Yield the state gauge; a service without a breaker always reads closed."""
        yield _gauge(
            "booking_db_breaker_state",
            "Database circuit breaker: 0 closed, 1 half-open, 2 open.",
            self._state(),
        )


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
        self.breaker_opens = Counter(
            "booking_db_breaker_opens",
            "Times the database circuit breaker opened (a failed half-open trial included).",
            registry=self.registry,
        )
        self.breaker_fast_failures = Counter(
            "booking_db_breaker_fast_failures",
            "Requests (probes included) refused by the open breaker without using the pool.",
            registry=self.registry,
        )
        started = Gauge(
            "booking_process_start_time_seconds",
            "Unix time this replica process started; a change means it was restarted.",
            registry=self.registry,
        )
        started.set(time.time())
        info = Gauge(
            "booking_info",
            "Constant 1, labelled with the replica name.",
            ["replica"],
            registry=self.registry,
        )
        info.labels(replica=replica).set(1)

    def watch_pool(self, pool: PoolView) -> None:
        """Report the pool's numbers, read from ``pool``, on every scrape."""
        self.registry.register(PoolCollector(pool))

    def watch_breaker(self, state: Callable[[], int]) -> None:
        """Report the breaker's state, read from ``state()``, on every scrape."""
        self.registry.register(BreakerCollector(state))

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.http_requests.labels(route=route, status=str(status)).inc()
        self.http_latency.labels(route=route).observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)
