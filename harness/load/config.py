"""The load profile: what Locust drives, for how long, and where the recorder writes.

One JSON file carries it from the harness to the Locust process (whose path is in the
environment variable ``HARNESS_LOAD_CONFIG``), so the harness side (`runner.py`) and the
Locust side (`locustfile.py`) read the same frozen object::

    {"host": "http://127.0.0.1:8080",
     "stages": [{"duration": 10, "users": 20, "spawn_rate": 10}],
     "arrivals": null,
     "mix": {"buyer": 1.0, "browser": 0.0},
     "think_time": [0.5, 2.0], "request_timeout": 5.0, "seed": 42,
     "stats_path": "/abs/path/load-stats.jsonl", "event_id": null}

The load follows one of two models, given by exactly one of two keys:

- ``stages``, the closed model: a number of users, each running journeys one after
  another with think times in between, so a slower service gets fewer journeys;
- ``arrivals``, the open model: journeys started per second on a schedule that does not
  wait for the service (see `Arrivals` and `harness.load.schedule`)::

      "arrivals": {"stages": [{"duration": 20, "rate": 5.0, "ramp": false},
                              {"duration": 30, "rate": 50.0, "ramp": true}],
                   "max_concurrency": 500, "spacing": "even"}

Stages run one after another: each ``duration`` is the length of that stage in seconds,
so the schedule ends at the sum of the durations. ``mix`` weighs the kinds of fans
(`UserKind`); without it every fan is a buyer. This module imports neither Locust nor
gevent, so the harness and the grader can use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from harness.load.profile import (
    Arrivals,
    ArrivalStage,
    LoadConfigError,
    Mix,
    Spacing,
    Stage,
    UserKind,
    require,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "ArrivalStage",
    "Arrivals",
    "LoadConfig",
    "LoadConfigError",
    "Mix",
    "Spacing",
    "Stage",
    "UserKind",
]

CONFIG_ENV_VAR = "HARNESS_LOAD_CONFIG"
"""Environment variable holding the path of the JSON config the locustfile reads."""


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    """Everything the Locust process needs to run one experiment's load.

    Exactly one of ``stages`` (closed model) and ``arrivals`` (open model) is given.
    """

    host: str
    stats_path: Path
    stages: tuple[Stage, ...] = ()
    arrivals: Arrivals | None = None
    mix: Mix = field(default_factory=Mix)
    think_time: tuple[float, float] = (0.5, 2.0)
    request_timeout: float = 5.0
    seed: int | None = None
    event_id: int | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.host)
        require(
            parts.scheme in ("http", "https") and bool(parts.hostname),
            "host",
            self.host,
            "an http(s) URL with a host, e.g. http://127.0.0.1:8080",
        )
        if self.arrivals is not None and self.stages:
            raise LoadConfigError(
                f"stages: got {len(self.stages)} stage(s) and arrivals too, expected either "
                "stages (closed model) or arrivals (open model), not both"
            )
        if self.arrivals is None:
            require(
                len(self.stages) > 0,
                "stages",
                list(self.stages),
                "at least one stage (or arrivals, for the open model)",
            )
        path = self.stats_path
        require(path.is_absolute(), "stats_path", str(path), "an absolute path")
        low, high = self.think_time
        require(0 <= low <= high, "think_time", [low, high], "[min, max] with 0 <= min <= max")
        require(self.request_timeout > 0, "request_timeout", self.request_timeout, "a number > 0")

    @property
    def total_duration(self) -> float:
        """Seconds from the start of the first stage to the end of the last one."""
        if self.arrivals is not None:
            return self.arrivals.duration
        return sum(stage.duration for stage in self.stages)

    def stage_at(self, elapsed: float) -> Stage | None:
        """The closed-model stage running ``elapsed`` seconds in; None after the last one."""
        end = 0.0
        for stage in self.stages:
            end += stage.duration
            if elapsed < end:
                return stage
        return None

    def describe(self) -> str:
        """One line for logs: the model and its size."""
        if self.arrivals is None:
            most = max(stage.users for stage in self.stages)
            return f"closed model, {len(self.stages)} stage(s), up to {most} users"
        fastest = max(stage.rate for stage in self.arrivals.stages)
        return (
            f"open model, {len(self.arrivals.stages)} stage(s), up to {fastest:g} journeys/s, "
            f"at most {self.arrivals.max_concurrency} at once"
        )

    def to_json(self) -> dict[str, object]:
        """The JSON-ready form, the exact inverse of `from_json`."""
        return {
            "host": self.host,
            "stages": [
                {"duration": s.duration, "users": s.users, "spawn_rate": s.spawn_rate}
                for s in self.stages
            ],
            "arrivals": None if self.arrivals is None else _arrivals_json(self.arrivals),
            "mix": self.mix.to_json(),
            "think_time": list(self.think_time),
            "request_timeout": self.request_timeout,
            "seed": self.seed,
            "stats_path": str(self.stats_path),
            "event_id": self.event_id,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> LoadConfig:
        """Build and validate a config from parsed JSON; raises `LoadConfigError`."""
        unknown = sorted(set(data) - _KEYS)
        require(not unknown, "config", unknown, f"only the keys {sorted(_KEYS)}")
        raw_stages = data.get("stages", [])
        if not isinstance(raw_stages, list):
            raise LoadConfigError(f"stages: expected a list of stages, got {raw_stages!r}")
        think = data.get("think_time", [0.5, 2.0])
        if not (isinstance(think, list) and len(think) == 2):
            raise LoadConfigError(f"think_time: expected [min, max] in seconds, got {think!r}")
        raw_arrivals = data.get("arrivals")
        return cls(
            host=_string(data, "host"),
            stages=tuple(_stage(i, raw) for i, raw in enumerate(raw_stages)),
            arrivals=None if raw_arrivals is None else _arrivals(raw_arrivals),
            mix=_mix(data.get("mix", {"buyer": 1.0})),
            stats_path=Path(_string(data, "stats_path")),
            think_time=(_number(think[0], "think_time[0]"), _number(think[1], "think_time[1]")),
            request_timeout=_number(data.get("request_timeout", 5.0), "request_timeout"),
            seed=_optional_int(data.get("seed"), "seed"),
            event_id=_optional_int(data.get("event_id"), "event_id"),
        )

    @classmethod
    def load(cls, path: Path) -> LoadConfig:
        """Read and validate the JSON file at ``path``."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LoadConfigError(f"{path}: cannot read a JSON load config: {exc}") from exc
        if not isinstance(data, dict):
            raise LoadConfigError(f"{path}: expected a JSON object, got {type(data).__name__}")
        try:
            return cls.from_json(data)
        except LoadConfigError as exc:
            raise LoadConfigError(f"{path}: {exc}") from exc

    def dump(self, path: Path) -> None:
        """Write the config as JSON to ``path``."""
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


_KEYS = frozenset(
    {
        "host",
        "stages",
        "arrivals",
        "mix",
        "think_time",
        "request_timeout",
        "seed",
        "stats_path",
        "event_id",
    }
)
_ARRIVAL_KEYS = frozenset({"stages", "max_concurrency", "spacing"})
_ARRIVAL_STAGE_KEYS = frozenset({"duration", "rate", "ramp"})


def _string(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise LoadConfigError(f"{key}: got {value!r}, expected a string")
    return value


def _number(value: object, key: str) -> float:
    # bool is an int subclass; `true` is never a meaningful duration.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LoadConfigError(f"{key}: got {value!r}, expected a finite number")
    return float(value)


def _integer(value: object, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise LoadConfigError(f"{key}: got {value!r}, expected an integer")
    return value


def _optional_int(value: object, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LoadConfigError(f"{key}: got {value!r}, expected an integer or null")
    return value


def _object(raw: object, keys: frozenset[str], required: frozenset[str]) -> Mapping[str, object]:
    """``raw`` as an object with only ``keys`` and at least ``required``."""
    if not isinstance(raw, dict):
        raise LoadConfigError(f"got {raw!r}, expected an object with the keys {sorted(keys)}")
    unknown = sorted(set(raw) - keys)
    missing = sorted(required - set(raw))
    if unknown or missing:
        raise LoadConfigError(
            f"got {raw!r}: unknown keys {unknown}, missing keys {missing}; "
            f"expected the keys {sorted(keys)} (required: {sorted(required)})"
        )
    return raw


def _stage(index: int, raw: object) -> Stage:
    where = f"stages[{index}]"
    if not isinstance(raw, dict) or set(raw) != {"duration", "users", "spawn_rate"}:
        raise LoadConfigError(
            f"{where}: got {raw!r}, expected an object with duration, users and spawn_rate"
        )
    try:
        return Stage(
            duration=_number(raw["duration"], "duration"),
            users=_integer(raw["users"], "users"),
            spawn_rate=_number(raw["spawn_rate"], "spawn_rate"),
        )
    except LoadConfigError as exc:
        raise LoadConfigError(f"{where}: {exc}") from exc


def _arrival_stage(index: int, raw: object) -> ArrivalStage:
    try:
        fields = _object(raw, _ARRIVAL_STAGE_KEYS, frozenset({"duration", "rate"}))
        ramp = fields.get("ramp", False)
        if not isinstance(ramp, bool):
            raise LoadConfigError(f"ramp: got {ramp!r}, expected true or false")
        return ArrivalStage(
            duration=_number(fields["duration"], "duration"),
            rate=_number(fields["rate"], "rate"),
            ramp=ramp,
        )
    except LoadConfigError as exc:
        raise LoadConfigError(f"stages[{index}]: {exc}") from exc


def _arrivals(raw: object) -> Arrivals:
    try:
        fields = _object(raw, _ARRIVAL_KEYS, frozenset({"stages"}))
        stages = fields["stages"]
        if not isinstance(stages, list):
            raise LoadConfigError(f"stages: got {stages!r}, expected a list of stages")
        spacing = fields.get("spacing", Spacing.EVEN.value)
        if spacing not in {s.value for s in Spacing}:
            accepted = [s.value for s in Spacing]
            raise LoadConfigError(f"spacing: got {spacing!r}, expected one of {accepted}")
        return Arrivals(
            stages=tuple(_arrival_stage(i, stage) for i, stage in enumerate(stages)),
            max_concurrency=_integer(fields.get("max_concurrency", 100), "max_concurrency"),
            spacing=Spacing(spacing),
        )
    except LoadConfigError as exc:
        raise LoadConfigError(f"arrivals: {exc}") from exc


def _mix(raw: object) -> Mix:
    kinds = frozenset(kind.value for kind in UserKind)
    try:
        fields = _object(raw, kinds, frozenset())
        weights = {key: _number(value, key) for key, value in fields.items()}
        return Mix(
            buyer=weights.get(UserKind.BUYER.value, 0.0),
            browser=weights.get(UserKind.BROWSER.value, 0.0),
        )
    except LoadConfigError as exc:
        raise LoadConfigError(f"mix: {exc}") from exc


def _arrivals_json(arrivals: Arrivals) -> dict[str, object]:
    return {
        "stages": [
            {"duration": s.duration, "rate": s.rate, "ramp": s.ramp} for s in arrivals.stages
        ],
        "max_concurrency": arrivals.max_concurrency,
        "spacing": arrivals.spacing.value,
    }
