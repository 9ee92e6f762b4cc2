"""Real Locust runs of the open model (arrival rate) and of the mix of fans, on the fake API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.load.config import CONFIG_ENV_VAR, Arrivals, ArrivalStage, Mix, Stage, UserKind
from harness.load.runner import LOCUSTFILE, LoadConfig, LoadRunner
from harness.load.schedule import ArrivalSchedule
from harness.load.stats import LoadStats, load_stats

from .fake_booking import FakeBookingService, FakeBookingState

pytestmark = pytest.mark.slow


@pytest.fixture
def plenty() -> Iterator[FakeBookingService]:
    with FakeBookingService(FakeBookingState(capacity={"floor": 5000, "balcony": 5000})) as fake:
        yield fake


def open_config(url: str, tmp_path: Path, arrivals: Arrivals, **changes: object) -> LoadConfig:
    settings: dict[str, object] = {
        "think_time": (0.05, 0.1),
        "request_timeout": 2.0,
        "seed": 11,
        "mix": Mix(buyer=70, browser=30),
    }
    settings.update(changes)
    return LoadConfig(
        host=url,
        stats_path=tmp_path / "load-stats.jsonl",
        arrivals=arrivals,
        **settings,  # type: ignore[arg-type]
    )


def run(config: LoadConfig, workdir: Path) -> LoadStats:
    with LoadRunner(config, workdir) as load:
        load.start()
        code = load.wait(timeout=config.total_duration + 30)
    assert code == 0, (workdir / "locust.out").read_text()
    return load_stats(config.stats_path)


def scheduled_per_second(config: LoadConfig, t0: float) -> Counter[int]:
    """Arrivals of the config's schedule per wall-clock second, for a test started at t0."""
    assert config.arrivals is not None
    schedule = ArrivalSchedule(config.arrivals, config.mix, config.seed)
    return Counter(int(t0 + arrival.offset) for arrival in schedule)


def started_per_second(stats: LoadStats) -> Counter[int]:
    return Counter({j.t: sum(j.started.values()) for j in stats.journeys})


def test_journeys_start_each_second_as_the_arrival_schedule_says(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    # 10/s for 3 s, then an on-sale spike ramping to 40/s over 3 s: 105 journeys.
    arrivals = Arrivals(stages=(ArrivalStage(3, 10.0), ArrivalStage(3, 40.0, ramp=True)))
    config = open_config(plenty.url, tmp_path, arrivals)

    stats = run(config, tmp_path / "run")

    assert stats.started_at is not None
    expected = scheduled_per_second(config, stats.started_at)
    started = started_per_second(stats)
    assert sum(started.values()) == sum(expected.values()) == 105
    for second in sorted(expected.keys() | started.keys()):
        # The feeder's clock starts a few ms after the start mark: an arrival near a
        # second's boundary may be counted in the next second.
        assert abs(started[second] - expected[second]) <= 1, second
    assert stats.dropped(0, 1e12) == 0
    # Every journey begins with browse, timed from its intended start.
    assert stats.window(0, 1e12, "browse").count == 105


def test_the_mix_and_the_seed_decide_the_kind_of_every_arrival(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    arrivals = Arrivals(stages=(ArrivalStage(4, 25.0),), max_concurrency=60)
    config = open_config(plenty.url, tmp_path, arrivals, mix=Mix(buyer=60, browser=40))

    stats = run(config, tmp_path / "run")

    # The Locust process drew the same kinds as this one does from the same seed.
    planned = Counter(a.kind.value for a in ArrivalSchedule(arrivals, config.mix, config.seed))
    buyers = stats.journeys_started(0, 1e12, UserKind.BUYER.value)
    browsers = stats.journeys_started(0, 1e12, UserKind.BROWSER.value)
    assert (buyers, browsers) == (planned["buyer"], planned["browser"])
    assert browsers / (buyers + browsers) == pytest.approx(0.4, abs=0.15)
    # Browsers never hold: every hold belongs to a buyer's journey.
    assert 0 < stats.window(0, 1e12, "hold").count <= buyers
    assert stats.window(0, 1e12, "availability").count > buyers + browsers * 0.9


def test_a_stalled_service_cannot_hide_its_latency_or_slow_the_arrivals(
    tmp_path: Path,
) -> None:
    # Every answer takes 1 s; 4 slots; 4 arrivals/s of browsers, each busy 2-3 s: arrivals
    # queue for a slot, and those that wait over the 2 s request timeout are dropped.
    state = FakeBookingState(capacity={"floor": 100, "balcony": 100}, delay_seconds=1.0)
    arrivals = Arrivals(stages=(ArrivalStage(6, 4.0),), max_concurrency=4)
    with FakeBookingService(state) as fake:
        config = open_config(
            fake.url, tmp_path, arrivals, request_timeout=2.0, mix=Mix(buyer=0, browser=1)
        )
        stats = run(config, tmp_path / "run")

    t0 = stats.started_at
    assert t0 is not None
    started = stats.journeys_started(0, 1e12)
    browse = stats.window(0, 1e12, "browse")
    # The schedule went on regardless: every arrival either started or was dropped.
    assert started + stats.dropped(0, 1e12) == 24
    per_second = started_per_second(stats) + Counter({d.t: d.count for d in stats.drops})
    expected = scheduled_per_second(config, t0)
    assert all(abs(per_second[t] - expected[t]) <= 1 for t in expected | per_second)
    # Dropped for waiting too long, not only for still waiting when the load ended (those
    # were meant to start in its last 2 s).
    assert stats.dropped(0, t0 + 6 - 2 - 1) >= 2
    # Timed from the intended start: waits for a slot show on top of the 1 s answers.
    # Journeys still in their first request when the load ended have no browse line.
    assert started - 4 <= browse.count <= started and browse.count >= 6
    assert browse.percentile(0) >= 1000.0
    assert browse.percentile(100) >= 2000.0
    assert stats.window(0, 1e12, "availability").percentile(100) < 1900.0


def test_a_closed_model_mix_gives_each_user_one_kind(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    config = LoadConfig(
        host=plenty.url,
        stats_path=tmp_path / "load-stats.jsonl",
        stages=(Stage(3, 4, 4),),
        mix=Mix(buyer=1, browser=1),
        think_time=(0.05, 0.1),
        request_timeout=2.0,
        seed=3,
    )

    stats = run(config, tmp_path / "run")

    buyers = stats.journeys_started(0, 1e12, "buyer")
    browsers = stats.journeys_started(0, 1e12, "browser")
    # 2 buyers and 2 browsers; a browser's journey is shorter, so browsers start more.
    assert buyers > 0 and browsers > buyers
    assert stats.window(0, 1e12, "hold").count <= buyers
    assert stats.dropped(0, 1e12) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_distributed_workers_share_the_arrivals_without_doubling_them(
    tmp_path: Path, plenty: FakeBookingService
) -> None:
    arrivals = Arrivals(stages=(ArrivalStage(3, 10.0),), max_concurrency=10)
    config = open_config(plenty.url, tmp_path, arrivals, seed=None)
    config.dump(tmp_path / "load-config.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env[CONFIG_ENV_VAR] = str(tmp_path / "load-config.json")
    port = str(free_port())
    common = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--host", plenty.url]
    master = [
        *common, "--master", "--headless", "--expect-workers", "2",
        "--expect-workers-max-wait", "30", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--run-time", "30s", "--exit-code-on-error", "0",
        "--only-summary",
    ]  # fmt: skip
    worker = [*common, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    processes = []
    try:
        for command, name in ((master, "master"), (worker, "worker1"), (worker, "worker2")):
            with (tmp_path / f"{name}.out").open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        command, cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT
                    )
                )
        code = processes[0].wait(timeout=60)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()

    assert code == 0, (tmp_path / "master.out").read_text()
    stats = load_stats(config.stats_path)
    assert stats.journeys_started(0, 1e12) == 30
    assert stats.dropped(0, 1e12) == 0
    assert stats.window(0, 1e12, "browse").count == 30
