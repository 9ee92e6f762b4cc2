"""The open model's schedule: rates, ramps, counts per second, spacing, kinds and seeds."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from harness.load.config import Arrivals, ArrivalStage, Mix, Spacing, UserKind
from harness.load.schedule import ArrivalSchedule, apportion

SPIKE = (ArrivalStage(20, 5.0), ArrivalStage(30, 50.0, ramp=True))


def schedule(
    *stages: ArrivalStage,
    spacing: Spacing = Spacing.EVEN,
    mix: Mix | None = None,
    seed: int | None = None,
) -> ArrivalSchedule:
    return ArrivalSchedule(Arrivals(stages=stages, spacing=spacing), mix, seed)


def test_a_constant_rate_gives_exactly_that_many_arrivals_every_second() -> None:
    counts = schedule(ArrivalStage(10, 5.0)).counts_per_second()

    assert counts == [5] * 10


def test_a_ramp_rises_linearly_from_the_previous_stage_rate() -> None:
    spike = schedule(*SPIKE)

    assert spike.rate_at(19.9) == 5.0
    assert spike.rate_at(20.0) == 5.0
    assert spike.rate_at(35.0) == pytest.approx(27.5)
    assert spike.rate_at(49.99) == pytest.approx(50.0, abs=0.02)
    assert spike.rate_at(50.0) == 0.0  # the schedule is over
    assert spike.total == pytest.approx(20 * 5 + 30 * (5 + 50) / 2)


def test_a_first_stage_that_ramps_starts_from_zero() -> None:
    ramp = schedule(ArrivalStage(10, 20.0, ramp=True))

    assert ramp.rate_at(0.0) == 0.0
    assert ramp.rate_at(5.0) == pytest.approx(10.0)
    assert ramp.counts_per_second() == [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]


def test_each_second_holds_its_expected_count_within_one_and_the_total_exactly() -> None:
    spike = schedule(*SPIKE, ArrivalStage(5, 0.0), ArrivalStage(7, 3.0, ramp=True))
    counts = spike.counts_per_second()

    for second, count in enumerate(counts):
        assert abs(count - spike.expected(second, second + 1)) <= 1, second
    # Even spacing: the count so far is the expected count rounded, at every second.
    for second in range(len(counts) + 1):
        assert abs(sum(counts[:second]) - spike.expected(0, second)) <= 0.5
    assert abs(sum(counts) - spike.total) <= 0.5
    assert counts[50:55] == [0] * 5  # a stage at rate 0 is a pause


def test_a_ramp_down_ends_at_the_new_rate() -> None:
    down = schedule(ArrivalStage(4, 40.0), ArrivalStage(4, 0.0, ramp=True))

    assert down.counts_per_second() == [40, 40, 40, 40, 35, 25, 15, 5]


def test_arrivals_come_in_order_and_inside_the_schedule() -> None:
    arrivals = list(schedule(*SPIKE, spacing=Spacing.POISSON, seed=1))
    offsets = [a.offset for a in arrivals]

    assert offsets == sorted(offsets)
    assert offsets[0] >= 0 and offsets[-1] < 50
    assert [a.index for a in arrivals] == list(range(len(arrivals)))


def test_poisson_arrivals_follow_the_rate_on_average() -> None:
    steady = schedule(ArrivalStage(200, 50.0), spacing=Spacing.POISSON, seed=4)
    counts = steady.counts_per_second()

    # 10,000 expected: the total is within 4 standard deviations (100 each).
    assert abs(sum(counts) - 10_000) < 400
    # Poisson counts per second: variance about equal to the mean, unlike even spacing.
    mean = sum(counts) / len(counts)
    variance = sum((c - mean) ** 2 for c in counts) / len(counts)
    assert 0.6 * mean < variance < 1.5 * mean


def test_poisson_arrivals_follow_a_ramp() -> None:
    ramp = schedule(ArrivalStage(100, 100.0, ramp=True), spacing=Spacing.POISSON, seed=9)
    counts = ramp.counts_per_second()

    first_half, second_half = sum(counts[:50]), sum(counts[50:])
    # Expected 1,250 and 3,750.
    assert abs(first_half - 1250) < 4 * math.sqrt(1250)
    assert abs(second_half - 3750) < 4 * math.sqrt(3750)


def test_kinds_follow_the_mix_weights() -> None:
    kinds = Counter(a.kind for a in schedule(ArrivalStage(100, 100.0), mix=Mix(70, 30), seed=2))

    assert sum(kinds.values()) == 10_000
    assert kinds[UserKind.BROWSER] / 10_000 == pytest.approx(0.3, abs=0.02)


def test_without_a_mix_every_arrival_is_a_buyer() -> None:
    assert {a.kind for a in schedule(ArrivalStage(10, 10.0))} == {UserKind.BUYER}


def test_the_same_seed_gives_the_same_arrivals_and_kinds() -> None:
    def draw(seed: int, spacing: Spacing) -> list[tuple[float, UserKind]]:
        arrivals = schedule(*SPIKE, spacing=spacing, mix=Mix(1, 1), seed=seed)
        return [(a.offset, a.kind) for a in arrivals]

    for spacing in Spacing:
        assert draw(7, spacing) == draw(7, spacing)
        assert draw(7, spacing) != draw(8, spacing)
    # The kinds do not depend on the spacing: arrival k has the same kind in both.
    even = [kind for _, kind in draw(7, Spacing.EVEN)]
    poisson = [kind for _, kind in draw(7, Spacing.POISSON)]
    shared = min(len(even), len(poisson))
    assert even[:shared] == poisson[:shared]


def test_one_schedule_gives_the_same_arrivals_on_every_pass() -> None:
    spike = schedule(*SPIKE, spacing=Spacing.POISSON, mix=Mix(1, 1), seed=5)

    assert list(spike) == list(spike)


def test_user_kinds_are_apportioned_to_match_the_mix_at_every_count() -> None:
    kinds = list(itertools.islice(apportion(Mix(buyer=70, browser=30)), 100))

    for n in range(1, 101):
        browsers = kinds[:n].count(UserKind.BROWSER)
        assert abs(browsers - 0.3 * n) < 1, n
    assert kinds[:10].count(UserKind.BROWSER) == 3
    assert kinds == list(itertools.islice(apportion(Mix(buyer=70, browser=30)), 100))


def test_a_weight_of_zero_never_gets_a_user() -> None:
    kinds = set(itertools.islice(apportion(Mix(buyer=0, browser=5)), 50))

    assert kinds == {UserKind.BROWSER}
