"""Steady-state probes against a small HTTP server standing in for the booking service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.backends.base import StackEndpoints
from harness.experiment.model import Probe, SteadyState
from harness.steady_state import check, check_until_holds, run_probe

METRICS = b"""# TYPE booking_db_pool_requests_waiting gauge
booking_db_pool_requests_waiting 3.0
# TYPE booking_http_requests counter
booking_http_requests_total{route="/events",status="200"} 42.0
"""


class Handler(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:
        if self.path == "/metrics":
            body, status = METRICS, 200
        elif self.path == "/health/ready":
            body, status = b"{}", 200 if Handler.ready else 503
        else:
            body, status = b"{}", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoints() -> Iterator[StackEndpoints]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Handler.ready = True
    port = server.server_address[1]
    yield StackEndpoints(
        f"http://127.0.0.1:{port}",
        "http://127.0.0.1:1",
        "postgresql://postgres@127.0.0.1:1/postgres",
    )
    server.shutdown()
    server.server_close()


def probe(**fields: object) -> Probe:
    return Probe.model_validate({"name": "p", **fields})


def test_an_http_probe_checks_the_status(endpoints: StackEndpoints) -> None:
    assert run_probe(probe(http={"path": "/health/ready"}), endpoints).ok
    Handler.ready = False
    failed = run_probe(probe(http={"path": "/health/ready"}), endpoints)
    assert not failed.ok
    assert "answered 503, expected 200" in failed.detail


def test_a_metric_probe_compares_a_sample_with_matching_labels(endpoints: StackEndpoints) -> None:
    waiting = run_probe(
        probe(metric={"name": "booking_db_pool_requests_waiting", "max": 0}), endpoints
    )
    served = run_probe(
        probe(
            metric={"name": "booking_http_requests_total", "labels": {"route": "/events"}, "min": 1}
        ),
        endpoints,
    )
    missing = run_probe(probe(metric={"name": "nope"}), endpoints)

    assert (waiting.ok, waiting.value, waiting.detail) == (False, 3.0, "3, expected at most 0")
    assert (served.ok, served.value) == (True, 42.0)
    assert not missing.ok


def test_a_sql_probe_against_an_unreachable_database_fails_with_the_reason(
    endpoints: StackEndpoints,
) -> None:
    result = run_probe(probe(sql={"query": "SELECT 1", "equals": 1}), endpoints)
    assert not result.ok
    assert "query failed" in result.detail


def test_a_check_fails_when_any_probe_fails(endpoints: StackEndpoints) -> None:
    hypothesis = SteadyState(
        probes=[probe(http={"path": "/health/ready"}), probe(name="q", http={"path": "/nowhere"})]
    )
    result = check(hypothesis, endpoints, "before")
    assert not result.ok
    assert result.failures.startswith("q: GET /nowhere answered 404")


def test_after_the_load_probes_are_retried_until_they_hold(endpoints: StackEndpoints) -> None:
    Handler.ready = False
    timer = threading.Timer(1.5, lambda: setattr(Handler, "ready", True))
    timer.start()
    hypothesis = SteadyState(probes=[probe(http={"path": "/health/ready"})], recovery_timeout=20)

    result = check_until_holds(hypothesis, endpoints)

    assert result.ok and result.when == "after"


def test_after_the_timeout_the_failing_check_is_returned(endpoints: StackEndpoints) -> None:
    Handler.ready = False
    hypothesis = SteadyState(probes=[probe(http={"path": "/health/ready"})], recovery_timeout=0.5)
    assert not check_until_holds(hypothesis, endpoints).ok
