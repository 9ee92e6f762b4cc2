"""The steady-state hypothesis: probes that must hold before the faults and after recovery.

A probe is an HTTP GET on the booking service (status and latency), a SQL query on
the stack's database (one number compared), or a sample from the service's
Prometheus metrics (compared). Before the faults, a probe that fails means the stack
was not healthy to begin with and the experiment would prove nothing: the run stops.
After the load, the probes get ``recovery_timeout`` to hold again; if they do not,
the service did not recover and the run fails.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from harness.backends.base import StackEndpoints
from harness.experiment.model import HttpProbe, MetricProbe, Probe, SqlProbe, SteadyState

log = logging.getLogger(__name__)

RETRY_INTERVAL = 1.0


@dataclass(frozen=True)
class ProbeResult:
    """One probe's outcome: held or not, the value seen, and why."""

    name: str
    ok: bool
    value: float | None
    detail: str


@dataclass(frozen=True)
class Check:
    """All probes checked once, at a moment of the run."""

    when: str  # "before" | "during" | "after"
    t: float
    results: tuple[ProbeResult, ...]

    @property
    def ok(self) -> bool:
        """Every probe held."""
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> str:
        """The failed probes in one line."""
        return "; ".join(f"{r.name}: {r.detail}" for r in self.results if not r.ok)

    def to_json(self) -> dict[str, Any]:
        """Plain data for verdict.json."""
        return {
            "when": self.when,
            "t": self.t,
            "ok": self.ok,
            "results": [asdict(r) for r in self.results],
        }


def _compare(
    value: float, low: float | None, high: float | None, equals: float | None = None
) -> tuple[bool, str]:
    if equals is not None and value != equals:
        return False, f"{value:g}, expected {equals:g}"
    if low is not None and value < low:
        return False, f"{value:g}, expected at least {low:g}"
    if high is not None and value > high:
        return False, f"{value:g}, expected at most {high:g}"
    return True, f"{value:g}"


def _http(probe: HttpProbe, endpoints: StackEndpoints) -> tuple[bool, float | None, str]:
    url = endpoints.booking_url + probe.path
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=probe.max_latency + 1) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return False, None, f"GET {probe.path} failed: {exc}"
    ms = (time.monotonic() - started) * 1000
    if status != probe.status:
        return False, ms, f"GET {probe.path} answered {status}, expected {probe.status}"
    if ms > probe.max_latency * 1000:
        return False, ms, f"GET {probe.path} took {ms:.0f} ms, limit {probe.max_latency:g}s"
    return True, ms, f"GET {probe.path} {status} in {ms:.0f} ms"


def _sql(probe: SqlProbe, endpoints: StackEndpoints) -> tuple[bool, float | None, str]:
    try:
        with psycopg.connect(endpoints.database_url, connect_timeout=3) as conn:
            row = conn.execute(probe.query).fetchone()
    except psycopg.Error as exc:
        return False, None, f"query failed: {exc}".strip()
    if not row or row[0] is None:
        return False, None, "query returned no value"
    value = float(row[0])
    ok, text = _compare(value, probe.min, probe.max, probe.equals)
    return ok, value, text


def _metric(probe: MetricProbe, endpoints: StackEndpoints) -> tuple[bool, float | None, str]:
    try:
        with urllib.request.urlopen(endpoints.booking_url + "/metrics", timeout=3) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError) as exc:
        return False, None, f"cannot read /metrics: {exc}"
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == probe.name and probe.labels.items() <= sample.labels.items():
                ok, detail = _compare(float(sample.value), probe.min, probe.max)
                return ok, float(sample.value), detail
    return False, None, f"no sample {probe.name} with labels {probe.labels}"


def run_probe(probe: Probe, endpoints: StackEndpoints) -> ProbeResult:
    """Check one probe now."""
    if probe.http is not None:
        ok, value, detail = _http(probe.http, endpoints)
    elif probe.sql is not None:
        ok, value, detail = _sql(probe.sql, endpoints)
    else:
        assert probe.metric is not None
        ok, value, detail = _metric(probe.metric, endpoints)
    return ProbeResult(probe.name, ok, value, detail)


def check(hypothesis: SteadyState, endpoints: StackEndpoints, when: str) -> Check:
    """Every probe once."""
    results = tuple(run_probe(p, endpoints) for p in hypothesis.probes)
    result = Check(when, time.time(), results)
    log.log(
        logging.INFO if result.ok else logging.WARNING,
        "steady state %s: %s",
        when,
        "holds" if result.ok else f"does NOT hold: {result.failures}",
    )
    return result


def check_until_holds(hypothesis: SteadyState, endpoints: StackEndpoints) -> Check:
    """After the load: probe until every probe holds or the recovery timeout passes."""
    deadline = time.monotonic() + hypothesis.recovery_timeout
    while True:
        results = tuple(run_probe(p, endpoints) for p in hypothesis.probes)
        result = Check("after", time.time(), results)
        if result.ok or time.monotonic() >= deadline:
            log.log(
                logging.INFO if result.ok else logging.WARNING,
                "steady state after: %s",
                "holds" if result.ok else f"does NOT hold: {result.failures}",
            )
            return result
        time.sleep(RETRY_INTERVAL)
