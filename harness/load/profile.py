"""The values a load profile is made of: stages, arrivals, the mix of fans.

Frozen and validated on construction: a bad value raises `LoadConfigError` naming the key
and showing the value. `config.LoadConfig` assembles them and reads them from JSON; no
Locust or gevent import here.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import Enum

MAX_ARRIVAL_RATE = 10_000.0
"""Journeys per second; one Locust process sends about 5,600 requests per second here."""

MAX_CONCURRENCY = 10_000
"""Most journeys in flight at once in the open model (each is a Locust user)."""


class LoadConfigError(ValueError):
    """A load profile that cannot be run; the message names the key and the bad value."""


class UserKind(str, Enum):
    """What a fan does: the value is the name used in ``mix`` and in the stats."""

    BUYER = "buyer"
    """Browses, checks availability, holds seats, buys them and reads the booking."""
    BROWSER = "browser"
    """Browses and checks availability (sometimes twice), never holds or buys."""


class Spacing(str, Enum):
    """How the arrivals of the open model are placed in time."""

    EVEN = "even"
    """Deterministic: arrival k at the moment the expected count reaches k + 1/2."""
    POISSON = "poisson"
    """A Poisson process with the stages' rate, drawn from the seed (random without one)."""


@dataclass(frozen=True)
class Stage:
    """One step of the closed model: hold ``users`` users for ``duration`` seconds.

    ``spawn_rate`` is how many users per second Locust starts or stops to get there.
    """

    duration: float
    users: int
    spawn_rate: float

    def __post_init__(self) -> None:
        require(self.duration > 0, "duration", self.duration, "a number > 0")
        require(self.users >= 0, "users", self.users, "an integer >= 0")
        require(self.spawn_rate > 0, "spawn_rate", self.spawn_rate, "a number > 0")


@dataclass(frozen=True)
class ArrivalStage:
    """One step of the open model: ``rate`` journeys per second for ``duration`` seconds.

    With ``ramp`` the rate grows (or shrinks) linearly across the stage, from the rate the
    previous stage ended with (0 for the first stage) to ``rate``, like an on-sale spike;
    without it the rate is ``rate`` throughout.
    """

    duration: float
    rate: float
    ramp: bool = False

    def __post_init__(self) -> None:
        require(self.duration > 0, "duration", self.duration, "a number > 0")
        require(
            0 <= self.rate <= MAX_ARRIVAL_RATE,
            "rate",
            self.rate,
            f"journeys per second, 0 <= rate <= {MAX_ARRIVAL_RATE:g}",
        )


@dataclass(frozen=True)
class Arrivals:
    """The open model: journeys start on a schedule, whatever the service does.

    At most ``max_concurrency`` journeys run at once. An arrival that finds them all busy
    waits for one to end and its first request is then timed from its intended start; one
    that cannot start within the config's ``request_timeout`` of its intended start is
    dropped (counted, never started): by then its first request would have timed out.
    """

    stages: tuple[ArrivalStage, ...]
    max_concurrency: int = 100
    spacing: Spacing = Spacing.EVEN

    def __post_init__(self) -> None:
        require(len(self.stages) > 0, "stages", list(self.stages), "at least one stage")
        require(
            any(stage.rate > 0 for stage in self.stages),
            "stages",
            [stage.rate for stage in self.stages],
            "at least one stage with a rate > 0",
        )
        require(
            1 <= self.max_concurrency <= MAX_CONCURRENCY,
            "max_concurrency",
            self.max_concurrency,
            f"an integer from 1 to {MAX_CONCURRENCY}",
        )

    @property
    def duration(self) -> float:
        """Seconds from the first arrival stage's start to the last one's end."""
        return sum(stage.duration for stage in self.stages)


@dataclass(frozen=True)
class Mix:
    """Relative weights of the kinds of fans; only their ratio matters (70/30 = 0.7/0.3)."""

    buyer: float = 1.0
    browser: float = 0.0

    def __post_init__(self) -> None:
        for kind, weight in self.weights().items():
            ok = math.isfinite(weight) and weight >= 0
            require(ok, kind.value, weight, "a finite weight >= 0")
        total = sum(self.weights().values())
        require(total > 0, "weights", self.to_json(), "at least one weight > 0")

    def weights(self) -> dict[UserKind, float]:
        """Weight per kind, in the fixed order of `UserKind`."""
        return {UserKind.BUYER: self.buyer, UserKind.BROWSER: self.browser}

    def share(self, kind: UserKind) -> float:
        """The fraction of fans of ``kind``."""
        weights = self.weights()
        return weights[kind] / sum(weights.values())

    def choose(self, rng: random.Random) -> UserKind:
        """A kind drawn with the weights' probabilities, one draw from ``rng``."""
        weights = self.weights()
        point = rng.random() * sum(weights.values())
        for kind, weight in weights.items():
            if point < weight:
                return kind
            point -= weight
        return next(kind for kind, weight in reversed(weights.items()) if weight > 0)

    def to_json(self) -> dict[str, float]:
        """``{"buyer": w, "browser": w}``."""
        return {kind.value: weight for kind, weight in self.weights().items()}


def require(ok: bool, key: str, value: object, accepted: str) -> None:
    """Raise `LoadConfigError` "key: got value, expected accepted" unless ``ok``."""
    if not ok:
        raise LoadConfigError(f"{key}: got {value!r}, expected {accepted}")
