"""The typed, frozen model of an experiment.

Every value an experiment can hold is declared here once; the loader turns YAML into
these objects and nothing downstream sees a raw dict. Field descriptions double as the
documentation printed by ``harness schema``.
"""

from __future__ import annotations

from enum import Enum

from pydantic import Field, field_validator, model_validator

from harness.experiment.check_model import (
    AbortSpec,
    Guard,
    GuardSLI,
    HttpProbe,
    MetricProbe,
    Probe,
    SqlProbe,
    SteadyState,
)
from harness.experiment.fault_model import (
    REPLICA_ACTIONS,
    TOXIC_ATTRIBUTES,
    Fault,
    FaultType,
    Ramp,
    Stream,
)
from harness.experiment.fields import MAX_RUN_SECONDS, MAX_USERS, Duration, Model
from harness.experiment.stack_model import (
    Backend,
    BookingSpec,
    ImagesSpec,
    PostgresSpec,
    StackSpec,
    SupervisorSpec,
    ToxiproxyServer,
    ToxiproxySpec,
)

__all__ = [
    "MAX_RUN_SECONDS",
    "MAX_USERS",
    "PHASE_PATTERN",
    "REPLICA_ACTIONS",
    "SLI",
    "SLI_UNITS",
    "TOXIC_ATTRIBUTES",
    "AbortSpec",
    "ArrivalStage",
    "Arrivals",
    "Backend",
    "BookingSpec",
    "Duration",
    "Experiment",
    "Fault",
    "FaultType",
    "Guard",
    "GuardSLI",
    "HttpProbe",
    "ImagesSpec",
    "LoadSpec",
    "MetricProbe",
    "Mix",
    "Model",
    "Objective",
    "PostgresSpec",
    "Probe",
    "Ramp",
    "SqlProbe",
    "StackSpec",
    "Stage",
    "SteadyState",
    "Stream",
    "SupervisorSpec",
    "ThinkTime",
    "ToxiproxyServer",
    "ToxiproxySpec",
    "default_objectives",
]


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
