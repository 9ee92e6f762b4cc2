"""Real Locust runs, in a subprocess, against the fake booking API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.load.outcomes import Outcome
from harness.load.runner import (
    LoadConfig,
    LoadRunner,
    LoadRunnerError,
    LoadRunnerTimeout,
    Stage,
)
from harness.load.stats import load_stats

from .fake_booking import FakeBookingService, FakeBookingState

ENDPOINTS = {"browse", "availability", "hold", "purchase", "booking"}


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.05)


def make_config(url: str, tmp_path: Path, *stages: Stage, timeout: float = 0.5) -> LoadConfig:
    return LoadConfig(
        host=url,
        stages=stages,
        stats_path=tmp_path / "stats" / "load-stats.jsonl",
        think_time=(0.05, 0.2),
        request_timeout=timeout,
        seed=7,
    )


@pytest.fixture
def plenty() -> Iterator[FakeBookingService]:
    with FakeBookingService(FakeBookingState(capacity={"floor": 5000, "balcony": 5000})) as fake:
        yield fake


@pytest.mark.slow
def test_a_release_run_records_every_step_and_exits_by_itself(tmp_path: Path) -> None:
    # Few seats (sold out within the run), a cached availability page that shows two
    # seats too many (so holds get 409 sold_out), and every 4th purchase answered late.
    # The timeout leaves room for a busy test machine: only stalled purchases time out.
    state = FakeBookingState(
        capacity={"floor": 40, "balcony": 40}, stall_every=4, stall_seconds=2.0, stale_free=2
    )
    with FakeBookingService(state) as fake:
        config = make_config(fake.url, tmp_path, Stage(2, 4, 4), Stage(3, 8, 8), timeout=1.0)
        started = time.monotonic()
        with LoadRunner(config, tmp_path / "run") as load:
            load.start()
            code = load.wait(timeout=60)
        elapsed = time.monotonic() - started

    stats = load_stats(config.stats_path)
    everything = stats.window(0, 1e12)
    holds = stats.window(0, 1e12, "hold")
    purchases = stats.window(0, 1e12, "purchase")
    bookings = stats.booking_window(0, 1e12)
    acknowledged = stats.acknowledged_booking_ids
    retried_keys = [key for key, uses in state.key_uses.items() if uses > 1]

    assert code == 0, (tmp_path / "run" / "locust.out").read_text()
    assert elapsed < config.total_duration + 15
    assert stats.endpoints == ENDPOINTS
    assert everything.count > 50
    assert holds.outcomes.get(Outcome.EXPECTED, 0) > 0  # sold_out is an answer, not a failure
    assert holds.failures == 0
    assert purchases.outcomes.get(Outcome.TIMEOUT, 0) > 0
    assert len(retried_keys) > 0  # a timed-out purchase is asked again with the same key
    # An attempt is a hold that found seats (not sold out) whose journey reached an
    # outcome; holds of journeys cut off by the end of the test are not attempts.
    found_seats = holds.count - holds.outcomes.get(Outcome.EXPECTED, 0)
    assert found_seats - 8 <= bookings.attempts <= found_seats
    assert bookings.attempts >= bookings.completed
    assert bookings.completed == len(bookings.booking_ids) == len(acknowledged) > 0
    assert acknowledged <= {str(i) for i in state.bookings}
    # Only purchases cut off by the end of the test may be unacknowledged.
    assert len(state.bookings) - len(acknowledged) <= 8
    assert stats.max_users(0, 1e12) == 8


@pytest.mark.slow
def test_stop_ends_a_long_run_and_keeps_its_stats(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    config = make_config(plenty.url, tmp_path, Stage(120, 3, 3))
    load = LoadRunner(config, tmp_path / "run")
    with load:
        load.start()
        wait_until(lambda: len(plenty.state.bookings) >= 3)
        with pytest.raises(LoadRunnerTimeout):
            load.wait(timeout=0.1)
        assert load.running

        started = time.monotonic()
        code = load.stop(grace=10)

        assert time.monotonic() - started < 10
    assert code == 0
    assert load.stop() == 0 and not load.running
    stats = load_stats(config.stats_path)
    assert stats.window(0, 1e12).count > 0
    # Everything recorded before the stop was written on the way out.
    assert stats.acknowledged_booking_ids <= {str(i) for i in plenty.state.bookings}
    assert len(stats.acknowledged_booking_ids) >= 3


@pytest.mark.slow
def test_the_run_time_limit_stops_locust_before_a_longer_shape_ends(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    config = make_config(plenty.url, tmp_path, Stage(120, 2, 2))
    with LoadRunner(config, tmp_path / "run") as load:
        load.run_time = 2  # what the margin would make it for a 2 s shape minus a bit

        load.start()
        code = load.wait(timeout=30)

    assert code == 0
    assert load_stats(config.stats_path).window(0, 1e12).count > 0


def test_load_may_only_go_to_loopback_unless_allowed(tmp_path: Path) -> None:
    config = make_config("http://192.0.2.1:8080", tmp_path, Stage(1, 1, 1))

    with pytest.raises(LoadRunnerError, match=r"192\.0\.2\.1"):
        LoadRunner(config, tmp_path)
    assert LoadRunner(config, tmp_path, allowed_hosts={"192.0.2.1"}).run_time == 11


def test_a_runner_that_never_started_cannot_be_waited_for_but_stops_quietly(
    tmp_path: Path,
) -> None:
    load = LoadRunner(make_config("http://127.0.0.1:9", tmp_path, Stage(1, 1, 1)), tmp_path)

    with pytest.raises(LoadRunnerError, match="start"):
        load.wait(timeout=1)
    assert load.stop() is None and not load.running and load.returncode is None


def test_the_command_bounds_the_run_and_keeps_failed_requests_out_of_the_exit_code(
    tmp_path: Path,
) -> None:
    config = make_config("http://127.0.0.1:9", tmp_path, Stage(3, 1, 1), Stage(4.5, 2, 1))
    command = LoadRunner(config, tmp_path, run_time_margin=5).command()

    assert command[command.index("--run-time") + 1] == "13s"
    assert command[command.index("--exit-code-on-error") + 1] == "0"
    assert command[command.index("--host") + 1] == "http://127.0.0.1:9"
    assert "--headless" in command and "-u" not in command and "--csv" not in command
