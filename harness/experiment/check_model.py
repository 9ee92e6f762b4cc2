"""Checks around a run: abort guards and the steady-state hypothesis's probes."""

from __future__ import annotations

from enum import Enum

from pydantic import Field, model_validator

from harness.experiment.fields import MAX_RUN_SECONDS, Duration, Model


class GuardSLI(str, Enum):
    """SLIs an abort guard can watch, over the last seconds of the run."""

    availability = "availability"
    error_rate = "error_rate"
    latency_p95 = "latency_p95"


class Guard(Model):
    """Stop the run early when an SLI stays past a limit for a while."""

    sli: GuardSLI = Field(description="The SLI watched, over the last `for` seconds.")
    above: float | None = Field(default=None, description="Trip when the SLI is above this.")
    below: float | None = Field(default=None, description="Trip when the SLI is below this.")
    for_: Duration = Field(
        default=10.0,
        alias="for",
        gt=0,
        le=3600,
        description="How long the SLI must stay past the limit (seconds, or 10s, 1m).",
    )

    @model_validator(mode="after")
    def _one_limit(self) -> Guard:
        if (self.above is None) == (self.below is None):
            raise ValueError("give exactly one of above or below")
        return self

    @property
    def text(self) -> str:
        """``error_rate above 20 for 10s``."""
        side, limit = ("above", self.above) if self.above is not None else ("below", self.below)
        return f"{self.sli.value} {side} {limit:g} for {self.for_:g}s"


class AbortSpec(Model):
    """When to stop a run early; faults are removed and results kept either way."""

    max_duration: Duration | None = Field(
        default=None,
        gt=0,
        le=MAX_RUN_SECONDS,
        description="Stop the run after this long, whatever its stages say.",
    )
    guards: list[Guard] = Field(
        default_factory=list,
        description="SLI limits that stop the run, e.g. error_rate above 20 for 10s.",
    )


class HttpProbe(Model):
    """A GET on the booking service answering with a status within a latency."""

    path: str = Field(pattern=r"^/", description="Path on the booking service, e.g. /health/ready.")
    status: int = Field(default=200, ge=100, le=599, description="The expected HTTP status.")
    max_latency: Duration = Field(
        default=1.0, gt=0, le=60, description="The answer must come within this long."
    )


class SqlProbe(Model):
    """A query on the stack's database whose single value is compared."""

    query: str = Field(min_length=1, description="SQL returning one row with one number.")
    equals: float | None = Field(default=None, description="The value must equal this.")
    min: float | None = Field(default=None, description="The value must be at least this.")
    max: float | None = Field(default=None, description="The value must be at most this.")


class MetricProbe(Model):
    """A sample from the booking service's Prometheus metrics, compared."""

    name: str = Field(description="Metric sample name, e.g. booking_db_pool_requests_waiting.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels to match.")
    min: float | None = Field(default=None, description="The value must be at least this.")
    max: float | None = Field(default=None, description="The value must be at most this.")


class Probe(Model):
    """One check of the steady-state hypothesis: exactly one of http, sql or metric."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Names the probe in reports.")
    http: HttpProbe | None = Field(default=None, description="An HTTP check.")
    sql: SqlProbe | None = Field(default=None, description="A SQL check.")
    metric: MetricProbe | None = Field(default=None, description="A metrics check.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Probe:
        given = [k for k in ("http", "sql", "metric") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of http, sql or metric (got {given or 'none'})")
        return self


class SteadyState(Model):
    """The steady-state hypothesis: probes that hold before the faults and after recovery."""

    probes: list[Probe] = Field(min_length=1, description="The checks that must all hold.")
    recovery_timeout: Duration = Field(
        default=30.0,
        gt=0,
        le=600,
        description="After the load, how long the probes may take to hold again.",
    )
    throughout: bool = Field(
        default=False, description="Also check every few seconds during the run and report."
    )
    interval: Duration = Field(
        default=5.0, gt=0, le=600, description="Seconds between checks when throughout is on."
    )
