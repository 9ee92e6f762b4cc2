"""The typed, frozen model of an experiment.

Every value an experiment can hold is declared here once; the loader turns YAML into
these objects and nothing downstream sees a raw dict. Field descriptions double as the
documentation printed by ``harness schema``.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from harness.experiment.durations import parse_duration

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h))+\s*$"},
            ],
            "description": "Seconds, or a string like 30s, 1m30s, 500ms.",
        }
    ),
]

MAX_RUN_SECONDS = 6 * 3600.0
MAX_USERS = 5000


class Model(BaseModel):
    """Base for experiment objects: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class FaultType(str, Enum):
    """What a fault does.

    Toxiproxy's toxic types and ``down`` (a disabled proxy, ``enabled: false``) act on a
    proxy; ``kill``, ``stop``, ``pause`` and ``restart`` act on booking replicas, as an
    orchestrator or a chaos tool would on containers.
    """

    latency = "latency"
    bandwidth = "bandwidth"
    slow_close = "slow_close"
    timeout = "timeout"
    reset_peer = "reset_peer"
    slicer = "slicer"
    limit_data = "limit_data"
    noop = "noop"
    down = "down"
    kill = "kill"
    stop = "stop"
    pause = "pause"
    restart = "restart"


# Faults on replicas: what happens at the start of the window, and at its end.
REPLICA_ACTIONS: dict[FaultType, tuple[str, str | None]] = {
    FaultType.kill: ("kill", "start"),  # killed; back by the end if nothing restarted it
    FaultType.stop: ("stop", "start"),
    FaultType.pause: ("pause", "resume"),
    FaultType.restart: ("restart", None),
}


# Attribute names per toxic type, as Toxiproxy's API spells them.
TOXIC_ATTRIBUTES: dict[FaultType, frozenset[str]] = {
    FaultType.latency: frozenset({"latency", "jitter"}),
    FaultType.bandwidth: frozenset({"rate"}),
    FaultType.slow_close: frozenset({"delay"}),
    FaultType.timeout: frozenset({"timeout"}),
    FaultType.reset_peer: frozenset({"timeout"}),
    FaultType.slicer: frozenset({"average_size", "size_variation", "delay"}),
    FaultType.limit_data: frozenset({"bytes"}),
    FaultType.noop: frozenset(),
    FaultType.down: frozenset(),
    **{kind: frozenset() for kind in REPLICA_ACTIONS},
}


class Stream(str, Enum):
    """Direction a toxic acts on: client to server (upstream) or back (downstream)."""

    upstream = "upstream"
    downstream = "downstream"


class Stage(Model):
    """One step of the load profile: hold ``users`` for ``duration``."""

    duration: Duration = Field(gt=0, le=MAX_RUN_SECONDS, description="How long the stage lasts.")
    users: int = Field(ge=0, le=MAX_USERS, description="Concurrent simulated users.")
    spawn_rate: float = Field(
        gt=0, le=1000, description="Users started (or stopped) per second to reach `users`."
    )


class ThinkTime(Model):
    """Pause between a user's steps, drawn uniformly from [min, max] seconds."""

    min: Duration = Field(default=0.5, ge=0, le=600)
    max: Duration = Field(default=2.0, ge=0, le=600)

    @model_validator(mode="after")
    def _ordered(self) -> ThinkTime:
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}s) must not exceed max ({self.max:g}s)")
        return self


class ArrivalStage(Model):
    """Open model: ``rate`` journeys started per second for ``duration``."""

    duration: Duration = Field(gt=0, le=MAX_RUN_SECONDS, description="How long the stage lasts.")
    rate: float = Field(ge=0, le=10000, description="Journeys started per second.")
    ramp: bool = Field(
        default=False,
        description="Grow linearly from the previous stage's rate to this one, like an "
        "on-sale spike (from 0 for the first stage).",
    )


class Arrivals(Model):
    """The open model: journeys start on a schedule, whatever the service does.

    A stalled service cannot slow the arrivals down, and each journey is timed from its
    intended start, so its latency cannot hide; arrivals that could not start at all
    are counted as dropped.
    """

    stages: list[ArrivalStage] = Field(min_length=1, description="Arrival stages, in order.")
    max_concurrency: int = Field(
        default=100, ge=1, le=MAX_USERS, description="Most journeys running at once."
    )
    spacing: str = Field(
        default="even",
        pattern="^(even|poisson)$",
        description="even (deterministic) or poisson (random, from the seed).",
    )


class Mix(Model):
    """Relative weights of the kinds of fans (70/30 is the same as 0.7/0.3)."""

    buyer: float = Field(default=1.0, ge=0, le=1e6, description="Fans who hold and buy.")
    browser: float = Field(
        default=0.0, ge=0, le=1e6, description="Fans who browse and check availability only."
    )

    @model_validator(mode="after")
    def _some_weight(self) -> Mix:
        if self.buyer + self.browser <= 0:
            raise ValueError("give at least one weight above 0")
        return self


class LoadSpec(Model):
    """How users arrive and what they do: closed-model ``stages`` or open-model ``arrivals``."""

    stages: list[Stage] | None = Field(
        default=None, min_length=1, description="Closed model: users per stage, in order."
    )
    arrivals: Arrivals | None = Field(
        default=None, description="Open model: journeys started per second, in stages."
    )
    mix: Mix = Field(default_factory=Mix, description="The kinds of fans and their weights.")
    think_time: ThinkTime = Field(default_factory=ThinkTime)
    request_timeout: Duration = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Client-side timeout; a request slower than this counts as failed.",
    )
    seed: int | None = Field(default=None, description="Makes users' random choices repeatable.")

    @model_validator(mode="after")
    def _one_model(self) -> LoadSpec:
        if (self.stages is None) == (self.arrivals is None):
            raise ValueError(
                "give stages (users) or arrivals (journeys per second), not both and not neither"
            )
        return self

    @property
    def duration(self) -> float:
        """Total length of the load profile in seconds."""
        if self.arrivals is not None:
            return sum(stage.duration for stage in self.arrivals.stages)
        return sum(stage.duration for stage in self.stages or ())


class Ramp(Model):
    """Attributes that grow (or shrink) linearly across the fault's window."""

    to: dict[str, int] = Field(
        min_length=1, description="Attribute values reached at the end of the window."
    )
    every: Duration = Field(
        default=5.0, gt=0, le=3600, description="How often the toxic is updated on the way."
    )


def _document_end(schema: dict[str, Any]) -> None:
    schema.setdefault("properties", {})["end"] = {
        "anyOf": [{"type": "number"}, {"type": "string"}],
        "description": "End of the window, from the start of load; instead of duration.",
    }


class Fault(Model):
    """A toxic (or a proxy taken down) on one proxy for a window of the run.

    The window is ``at`` plus ``duration``, or ``at`` to ``end``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_document_end)

    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        max_length=64,
        description="Names the fault in reports and in phase fault:NAME; also the toxic's name.",
    )
    proxy: str = Field(default="postgres", description="Name of the proxy to act on.")
    type: FaultType = Field(description="Toxic type, or `down` to disable the proxy.")
    at: Duration = Field(ge=0, le=MAX_RUN_SECONDS, description="Start, from the start of load.")
    duration: Duration = Field(gt=0, le=MAX_RUN_SECONDS, description="How long it stays.")
    stream: Stream = Field(default=Stream.downstream, description="upstream or downstream.")
    toxicity: float = Field(default=1.0, ge=0, le=1, description="Share of connections hit.")
    attributes: dict[str, int] = Field(
        default_factory=dict,
        description="The toxic's attributes as Toxiproxy names them, e.g. latency and jitter "
        "(ms) for latency, rate (KB/s) for bandwidth, timeout (ms) for timeout.",
    )
    ramp: Ramp | None = Field(
        default=None,
        description="Move attributes linearly from `attributes` to `ramp.to` over the window.",
    )

    replicas: list[str] | None = Field(
        default=None, description="Replica faults: the replicas hit, by name (booking-1, ...)."
    )
    count: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="Replica faults: how many replicas, chosen at random.",
    )
    percent: float | None = Field(
        default=None, gt=0, le=100, description="Replica faults: the share of replicas hit."
    )

    @model_validator(mode="after")
    def _blast_radius(self) -> Fault:
        chosen = [k for k in ("replicas", "count", "percent") if getattr(self, k) is not None]
        if self.type in REPLICA_ACTIONS:
            if len(chosen) > 1:
                raise ValueError(f"give one of replicas, count or percent (got {chosen})")
        elif chosen:
            verb = "applies" if len(chosen) == 1 else "apply"
            kinds = ", ".join(k.value for k in REPLICA_ACTIONS)
            raise ValueError(f"{', '.join(chosen)} {verb} only to replica faults ({kinds})")
        return self

    @property
    def on_replicas(self) -> bool:
        """True for faults that act on booking replicas rather than on a proxy."""
        return self.type in REPLICA_ACTIONS

    @model_validator(mode="before")
    @classmethod
    def _end_to_duration(cls, data: Any) -> Any:
        """``end`` is another way to write the window: it becomes ``duration``."""
        if not isinstance(data, dict) or "end" not in data:
            return data
        data = dict(data)
        end = data.pop("end")
        if "duration" in data:
            raise ValueError("give duration or end, not both")
        try:
            start, stop = parse_duration(data.get("at", 0)), parse_duration(end)
        except ValueError as exc:
            raise ValueError(f"end: {exc}") from exc
        if stop <= start:
            raise ValueError(f"end ({stop:g}s) must come after at ({start:g}s)")
        data["duration"] = stop - start
        return data

    def attributes_at(self, elapsed: float) -> dict[str, int]:
        """The attributes ``elapsed`` seconds into the window, following the ramp."""
        if self.ramp is None:
            return dict(self.attributes)
        share = min(max(elapsed / self.duration, 0.0), 1.0)
        values = dict(self.attributes)
        for key, target in self.ramp.to.items():
            start = self.attributes.get(key, 0)
            values[key] = round(start + (target - start) * share)
        return values

    @property
    def end(self) -> float:
        """Seconds from the start of load when the fault is removed."""
        return self.at + self.duration

    @property
    def label(self) -> str:
        """The fault's name, or one made from its type and its target."""
        if self.name:
            return self.name
        if self.on_replicas:
            return f"booking-{self.type.value}"
        return f"{self.proxy}-{self.type.value}-{self.stream.value}"


class BookingSpec(Model):
    """Settings of the booking service replicas."""

    source: str = Field(
        default="../stack/booking",
        description="Folder of the booking service, relative to the experiment file.",
    )
    replicas: int = Field(
        default=1, ge=1, le=16, description="Booking replicas behind one load balancer."
    )
    settings: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="More service settings, passed as BOOKING_<NAME> environment variables "
        "(e.g. breaker: true, liveness_checks_db: false).",
    )
    pool_size: int = Field(default=100, ge=1, le=10000, description="DB pool size per replica.")
    acquire_timeout: Duration = Field(
        default=5.0, gt=0, le=300, description="Longest wait for a pooled connection."
    )
    seats: int = Field(default=3000, ge=10, le=1_000_000, description="Seats in the concert.")


class PostgresSpec(Model):
    """Settings of the PostgreSQL server."""

    max_connections: int = Field(
        default=300, ge=10, le=10000, description="PostgreSQL's max_connections setting."
    )


class ToxiproxyServer(str, Enum):
    """Which Toxiproxy server sits in front of the stack's dependencies."""

    auto = "auto"
    embedded = "embedded"
    toxiproxy_server = "toxiproxy-server"


class ToxiproxySpec(Model):
    """Where the fault proxy comes from. Experiments do not change with the choice.

    ``auto`` uses, in order: ``url`` if given, the ``TOXIPROXY_URL`` environment
    variable, a ``toxiproxy-server`` on PATH, and otherwise the embedded proxy.
    """

    server: ToxiproxyServer = ToxiproxyServer.auto
    url: str | None = Field(
        default=None,
        pattern=r"^https?://(127\.[0-9.]+|localhost|\[::1\]):[0-9]+/?$",
        description="A running Toxiproxy's API on this machine (loopback only).",
    )


class SupervisorSpec(Model):
    """An orchestrator's liveness probe that restarts failing replicas (Kubernetes-like)."""

    enabled: bool = Field(default=True, description="Probe replicas and restart failing ones.")
    path: str = Field(default="/health/live", pattern=r"^/", description="The liveness path.")
    interval: Duration = Field(default=2.0, gt=0, le=600, description="Seconds between probes.")
    timeout: Duration = Field(default=1.0, gt=0, le=60, description="A probe's timeout.")
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Failed probes in a row that trigger a restart."
    )
    initial_delay: Duration = Field(
        default=5.0, ge=0, le=600, description="Grace after a restart before probing again."
    )


class Backend(str, Enum):
    """How the stack is run."""

    local = "local"
    docker = "docker"


class ImagesSpec(Model):
    """Container images of the Docker backend, one per service.

    The environment variables ``HARNESS_IMAGE_POSTGRES``, ``HARNESS_IMAGE_TOXIPROXY`` and
    ``HARNESS_IMAGE_BOOKING`` win over these (CI points them at images it built).
    """

    postgres: str = Field(default="postgres:16", min_length=1, description="PostgreSQL image.")
    toxiproxy: str = Field(
        default="ghcr.io/shopify/toxiproxy:2.12.0",
        min_length=1,
        description="Toxiproxy server image (or one accepting the same flags).",
    )
    booking: str = Field(
        default="concert-chaos/booking:latest",
        min_length=1,
        description="Booking service image, built from stack/booking/Dockerfile.",
    )


class StackSpec(Model):
    """The system under test: PostgreSQL behind a fault proxy, booking replicas in front."""

    backend: Backend = Backend.local
    booking: BookingSpec = Field(default_factory=BookingSpec)
    postgres: PostgresSpec = Field(default_factory=PostgresSpec)
    toxiproxy: ToxiproxySpec = Field(default_factory=ToxiproxySpec)
    supervisor: SupervisorSpec = Field(default_factory=SupervisorSpec)
    images: ImagesSpec = Field(default_factory=ImagesSpec)
    startup_timeout: Duration = Field(default=30.0, gt=0, le=600)


class SLI(str, Enum):
    """Service level indicators the grader computes."""

    availability = "availability"
    error_rate = "error_rate"
    successful_bookings = "successful_bookings"
    latency_p50 = "latency_p50"
    latency_p95 = "latency_p95"
    latency_p99 = "latency_p99"
    throughput = "throughput"
    recovery_time = "recovery_time"


SLI_UNITS: dict[SLI, str] = {
    SLI.availability: "%",
    SLI.error_rate: "%",
    SLI.successful_bookings: "%",
    SLI.latency_p50: "ms",
    SLI.latency_p95: "ms",
    SLI.latency_p99: "ms",
    SLI.throughput: "req/s",
    SLI.recovery_time: "s",
}

PHASE_PATTERN = r"^(run|baseline|during|recovery|fault:[A-Za-z0-9_.-]+)$"


class Objective(Model):
    """An SLO: an SLI held above ``min`` or below ``max``."""

    sli: SLI
    min: float | None = Field(default=None, description="The SLI must be at least this.")
    max: float | None = Field(default=None, description="The SLI must stay below this.")
    endpoint: str | None = Field(
        default=None, description="Restrict to one endpoint (browse, availability, hold, ...)."
    )
    phase: str = Field(
        default="run",
        pattern=PHASE_PATTERN,
        description=(
            "Where the objective applies: run (the whole run), baseline (before the first "
            "fault), during (every fault window), fault:NAME (one fault's window), recovery "
            "(after the last fault). For recovery_time: recovery or fault:NAME."
        ),
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Objective:
        if (self.min is None) == (self.max is None):
            raise ValueError("give exactly one of min or max")
        return self

    @property
    def bound(self) -> float:
        """The target value, whichever side it bounds."""
        value = self.min if self.min is not None else self.max
        assert value is not None
        return value

    @property
    def unit(self) -> str:
        """Unit of the SLI: %, ms or req/s."""
        return SLI_UNITS[self.sli]

    @property
    def target_text(self) -> str:
        """``>= 99.9 %`` or ``< 500 ms``."""
        if self.min is not None:
            return f">= {self.min:g} {self.unit}"
        return f"< {self.max:g} {self.unit}"


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


def default_objectives() -> list[Objective]:
    """The post-mortem's SLO table: the bar every run is held to unless told otherwise."""
    return [
        Objective(sli=SLI.availability, min=99.9),
        Objective(sli=SLI.latency_p95, max=500),
        Objective(sli=SLI.error_rate, max=0.1),
        Objective(sli=SLI.successful_bookings, min=99.5),
    ]


class Experiment(Model):
    """One question asked of the stack, with the load, faults and objectives to answer it."""

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        max_length=64,
        description="Short name: lower case, digits and dashes; names the results folder.",
    )
    description: str = Field(min_length=1, description="The question this experiment asks.")
    stack: StackSpec = Field(default_factory=StackSpec)
    load: LoadSpec
    faults: list[Fault] = Field(
        default_factory=list, description="The fault timeline; offsets from the start of load."
    )
    steady_state: SteadyState | None = Field(
        default=None, description="The steady-state hypothesis checked around the faults."
    )
    abort: AbortSpec = Field(
        default_factory=AbortSpec, description="Conditions that stop the run early."
    )
    objectives: list[Objective] = Field(
        default_factory=default_objectives,
        description="SLOs to grade; omitted, the post-mortem's table applies.",
    )

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())
