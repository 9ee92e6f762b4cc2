"""Faults on the timeline: toxics and ``down`` on a proxy, or actions on replicas."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from harness.experiment.durations import parse_duration
from harness.experiment.fields import MAX_RUN_SECONDS, Duration, Model


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
