"""The load profile: what Locust drives, for how long, and where the recorder writes.

One JSON file carries it from the harness to the Locust process (whose path is in the
environment variable ``HARNESS_LOAD_CONFIG``), so the harness side (`runner.py`) and the
Locust side (`locustfile.py`) read the same frozen object::

    {"host": "http://127.0.0.1:8080",
     "stages": [{"duration": 10, "users": 20, "spawn_rate": 10}],
     "think_time": [0.5, 2.0], "request_timeout": 5.0, "seed": 42,
     "stats_path": "/abs/path/load-stats.jsonl", "event_id": null}

Stages run one after another: each ``duration`` is the length of that stage in seconds,
so the schedule ends at the sum of the durations. This module imports neither Locust nor
gevent, so the harness and the grader can use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CONFIG_ENV_VAR = "HARNESS_LOAD_CONFIG"
"""Environment variable holding the path of the JSON config the locustfile reads."""


class LoadConfigError(ValueError):
    """A load profile that cannot be run; the message names the key and the bad value."""


@dataclass(frozen=True)
class Stage:
    """One step of the load shape: hold ``users`` users for ``duration`` seconds.

    ``spawn_rate`` is how many users per second Locust starts or stops to get there.
    """

    duration: float
    users: int
    spawn_rate: float

    def __post_init__(self) -> None:
        _require(self.duration > 0, "duration", self.duration, "a number > 0")
        _require(self.users >= 0, "users", self.users, "an integer >= 0")
        _require(self.spawn_rate > 0, "spawn_rate", self.spawn_rate, "a number > 0")


@dataclass(frozen=True)
class LoadConfig:
    """Everything the Locust process needs to run one experiment's load."""

    host: str
    stages: tuple[Stage, ...]
    stats_path: Path
    think_time: tuple[float, float] = (0.5, 2.0)
    request_timeout: float = 5.0
    seed: int | None = None
    event_id: int | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.host)
        _require(
            parts.scheme in ("http", "https") and bool(parts.hostname),
            "host",
            self.host,
            "an http(s) URL with a host, e.g. http://127.0.0.1:8080",
        )
        _require(len(self.stages) > 0, "stages", list(self.stages), "at least one stage")
        path = self.stats_path
        _require(path.is_absolute(), "stats_path", str(path), "an absolute path")
        low, high = self.think_time
        _require(0 <= low <= high, "think_time", [low, high], "[min, max] with 0 <= min <= max")
        _require(self.request_timeout > 0, "request_timeout", self.request_timeout, "a number > 0")

    @property
    def total_duration(self) -> float:
        """Seconds from the start of the first stage to the end of the last one."""
        return sum(stage.duration for stage in self.stages)

    def stage_at(self, elapsed: float) -> Stage | None:
        """The stage running ``elapsed`` seconds into the test, or None once all have ended."""
        end = 0.0
        for stage in self.stages:
            end += stage.duration
            if elapsed < end:
                return stage
        return None

    def to_json(self) -> dict[str, object]:
        """The JSON-ready form, the exact inverse of `from_json`."""
        return {
            "host": self.host,
            "stages": [
                {"duration": s.duration, "users": s.users, "spawn_rate": s.spawn_rate}
                for s in self.stages
            ],
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
        _require(not unknown, "config", unknown, f"only the keys {sorted(_KEYS)}")
        raw_stages = data.get("stages")
        if not isinstance(raw_stages, list):
            raise LoadConfigError(f"stages: expected a list of stages, got {raw_stages!r}")
        think = data.get("think_time", [0.5, 2.0])
        if not (isinstance(think, list) and len(think) == 2):
            raise LoadConfigError(f"think_time: expected [min, max] in seconds, got {think!r}")
        return cls(
            host=_string(data, "host"),
            stages=tuple(_stage(i, raw) for i, raw in enumerate(raw_stages)),
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
    {"host", "stages", "think_time", "request_timeout", "seed", "stats_path", "event_id"}
)


def _require(ok: bool, key: str, value: object, accepted: str) -> None:
    if not ok:
        raise LoadConfigError(f"{key}: got {value!r}, expected {accepted}")


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


def _optional_int(value: object, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise LoadConfigError(f"{key}: got {value!r}, expected an integer or null")
    return value


def _stage(index: int, raw: object) -> Stage:
    where = f"stages[{index}]"
    if not isinstance(raw, dict) or set(raw) != {"duration", "users", "spawn_rate"}:
        raise LoadConfigError(
            f"{where}: got {raw!r}, expected an object with duration, users and spawn_rate"
        )
    users = raw["users"]
    try:
        if not isinstance(users, int) or isinstance(users, bool):
            raise LoadConfigError(f"users: got {users!r}, expected an integer")
        return Stage(
            duration=_number(raw["duration"], "duration"),
            users=users,
            spawn_rate=_number(raw["spawn_rate"], "spawn_rate"),
        )
    except LoadConfigError as exc:
        raise LoadConfigError(f"{where}: {exc}") from exc
