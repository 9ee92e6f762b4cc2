"""When the open model's journeys start, and which kind of fan each one is.

The arrival stages define a rate r(t) in journeys per second: constant within a stage,
or a straight line from the previous stage's rate to this one's when the stage ramps.
Its integral Λ(t) is the number of journeys expected in [0, t). Arrivals are placed by
inverting Λ, which makes both spacings exact for any rate curve:

- ``even``: arrival k (k = 0, 1, ...) at the moment Λ reaches k + 1/2. The number of
  arrivals in [0, t) is Λ(t) rounded to the nearest integer, so every second holds the
  expected count within one, and a constant 5/s gives exactly 5 in every second.
- ``poisson``: the k-th arrival at the moment Λ reaches the sum of k unit exponential
  draws (a Poisson process whose rate follows the stages), drawn from the seed.

Each arrival's kind is drawn from the `Mix` with a generator of its own, seeded from the
run's seed, so the same seed gives the same kinds at the same arrival numbers whatever
the service does. A closed-model user's kind is not drawn: `apportion` hands kinds out in
spawn order so that any number of users matches the weights as closely as whole users can.

Pure arithmetic: no Locust or gevent import, so the harness and the tests use it too.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from harness.load.profile import Arrivals, Mix, Spacing, UserKind


@dataclass(frozen=True)
class Arrival:
    """One journey of the open model: its number, its intended start, its kind of fan."""

    index: int
    offset: float
    """Seconds from the start of the schedule (the test start) to the intended start."""
    kind: UserKind


@dataclass(frozen=True)
class _Segment:
    """One arrival stage, with the rate going linearly from ``rate_from`` to ``rate_to``."""

    start: float
    duration: float
    mass_before: float
    rate_from: float
    rate_to: float

    @property
    def mass(self) -> float:
        return (self.rate_from + self.rate_to) * self.duration / 2.0

    def mass_until(self, u: float) -> float:
        slope = (self.rate_to - self.rate_from) / self.duration
        return self.rate_from * u + slope * u * u / 2.0

    def time_of(self, mass: float) -> float:
        """The u in [0, duration] with mass_until(u) == mass."""
        # Solving slope/2 u^2 + a u = m as 2m / (a + sqrt(a^2 + 2 slope m)): the same formula
        # for flat, rising and falling rates, with no division by a slope near zero.
        slope = (self.rate_to - self.rate_from) / self.duration
        root = math.sqrt(max(self.rate_from**2 + 2.0 * slope * mass, 0.0))
        denominator = self.rate_from + root
        if denominator <= 0.0:
            return 0.0
        return min(2.0 * mass / denominator, self.duration)


class ArrivalSchedule:
    """The arrivals of an `Arrivals` profile, as offsets from the start of the test."""

    def __init__(self, arrivals: Arrivals, mix: Mix | None = None, seed: int | None = None):
        self.spacing = arrivals.spacing
        self.mix = mix if mix is not None else Mix()
        self.seed = seed
        self._segments: list[_Segment] = []
        start = mass = previous_rate = 0.0
        for stage in arrivals.stages:
            rate_from = previous_rate if stage.ramp else stage.rate
            segment = _Segment(start, stage.duration, mass, rate_from, stage.rate)
            self._segments.append(segment)
            start += stage.duration
            mass += segment.mass
            previous_rate = stage.rate
        self.duration = start
        self.total = mass
        """Journeys expected over the whole schedule."""
        self._starts = [s.start for s in self._segments]
        self._masses = [s.mass_before for s in self._segments]

    def rate_at(self, t: float) -> float:
        """Journeys per second intended at ``t`` seconds in (0 outside the schedule)."""
        if not 0.0 <= t < self.duration:
            return 0.0
        segment = self._segments[bisect.bisect_right(self._starts, t) - 1]
        fraction = (t - segment.start) / segment.duration
        return segment.rate_from + (segment.rate_to - segment.rate_from) * fraction

    def expected(self, start: float, end: float) -> float:
        """Journeys expected with an intended start in [start, end), in seconds from t0."""
        return self._cumulative(end) - self._cumulative(start)

    def time_of(self, mass: float) -> float:
        """The moment the expected count reaches ``mass`` (0 <= mass <= total)."""
        # The last stage starting at or below that mass: stages at rate 0 hold no mass, so
        # a mass past them lands in the next stage with arrivals.
        segment = self._segments[max(bisect.bisect_right(self._masses, mass) - 1, 0)]
        return segment.start + segment.time_of(mass - segment.mass_before)

    def __iter__(self) -> Iterator[Arrival]:
        """Every arrival in order of intended start; a new pass gives the same ones."""
        kinds = _rng(self.seed, "kinds")
        for index, mass in enumerate(self._masses_of_arrivals()):
            yield Arrival(index=index, offset=self.time_of(mass), kind=self.mix.choose(kinds))

    def counts_per_second(self) -> list[int]:
        """Arrivals per whole second of the schedule: element i counts [i, i + 1)."""
        counts = [0] * math.ceil(self.duration)
        for arrival in self:
            counts[int(arrival.offset)] += 1
        return counts

    def _cumulative(self, t: float) -> float:
        if t <= 0.0:
            return 0.0
        if t >= self.duration:
            return self.total
        segment = self._segments[bisect.bisect_right(self._starts, t) - 1]
        return segment.mass_before + segment.mass_until(t - segment.start)

    def _masses_of_arrivals(self) -> Iterator[float]:
        if self.spacing is Spacing.EVEN:
            mass = 0.5
            while mass < self.total:
                yield mass
                mass += 1.0
            return
        gaps = _rng(self.seed, "gaps")
        mass = gaps.expovariate(1.0)
        while mass < self.total:
            yield mass
            mass += gaps.expovariate(1.0)


def apportion(mix: Mix) -> Iterator[UserKind]:
    """Kinds for users 0, 1, 2, ...: each goes to the kind furthest below its share.

    After any n users each kind has its share of n within one user, and the order is the
    same in every run, seed or not (as Locust's own weighted user classes behave).
    """
    shares = {kind: mix.share(kind) for kind in mix.weights()}
    given = dict.fromkeys(shares, 0)
    n = 0
    while True:
        n += 1
        # Ties go to the first kind in `UserKind` order: max keeps the first maximum.
        kind = max(shares, key=lambda k: shares[k] * n - given[k])
        given[kind] += 1
        yield kind


def _rng(seed: int | None, purpose: str) -> random.Random:
    # A string seed is hashed with SHA-512, the same in every process and Python version,
    # and a purpose of its own keeps the kinds the same whichever spacing is used.
    return random.Random() if seed is None else random.Random(f"{seed}/{purpose}")
