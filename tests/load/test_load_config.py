"""The load config: JSON round trip, closed and open models, the mix, and clear refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.load.config import (
    Arrivals,
    ArrivalStage,
    LoadConfig,
    LoadConfigError,
    Mix,
    Spacing,
    Stage,
    UserKind,
)


def config_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "host": "http://127.0.0.1:8080",
        "stages": [
            {"duration": 10, "users": 20, "spawn_rate": 10},
            {"duration": 5, "users": 40, "spawn_rate": 20},
        ],
        "think_time": [0.5, 2.0],
        "request_timeout": 5.0,
        "seed": 42,
        "stats_path": "/tmp/load-stats.jsonl",
        "event_id": None,
    }
    data.update(changes)
    return data


def test_json_round_trip_through_a_file_gives_an_equal_config(tmp_path: Path) -> None:
    config = LoadConfig.from_json(config_json())
    config.dump(tmp_path / "c.json")

    assert LoadConfig.load(tmp_path / "c.json") == config
    assert config.to_json() == LoadConfig.from_json(config.to_json()).to_json()
    assert config.stages[1] == Stage(duration=5.0, users=40, spawn_rate=20.0)
    assert config.stats_path == Path("/tmp/load-stats.jsonl")


def test_stages_run_one_after_another() -> None:
    config = LoadConfig.from_json(config_json())

    assert config.total_duration == 15.0
    assert config.stage_at(0.0) == config.stages[0]
    assert config.stage_at(9.99) == config.stages[0]
    assert config.stage_at(10.0) == config.stages[1]
    assert config.stage_at(14.99) == config.stages[1]
    assert config.stage_at(15.0) is None


def test_optional_keys_take_their_defaults() -> None:
    data = config_json()
    for key in ("think_time", "request_timeout", "seed", "event_id"):
        del data[key]

    config = LoadConfig.from_json(data)

    assert (config.think_time, config.request_timeout) == ((0.5, 2.0), 5.0)
    assert config.seed is None and config.event_id is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host": "127.0.0.1:8080"}, "host: got '127.0.0.1:8080'"),
        ({"stages": []}, "stages: got []"),
        ({"stages": [{"duration": -1, "users": 1, "spawn_rate": 1}]}, "stages[0]: duration"),
        ({"stages": [{"duration": 1, "users": True, "spawn_rate": 1}]}, "stages[0]: users"),
        ({"stages": [{"duration": 1, "users": 1}]}, "stages[0]: got"),
        ({"think_time": [2.0, 1.0]}, "think_time: got [2.0, 1.0]"),
        ({"think_time": 1.0}, "think_time: expected [min, max]"),
        ({"request_timeout": 0}, "request_timeout: got 0.0"),
        ({"seed": 1.5}, "seed: got 1.5"),
        ({"stats_path": "relative/stats.jsonl"}, "stats_path: got 'relative/stats.jsonl'"),
        ({"users": 10}, "config: got ['users']"),
    ],
)
def test_invalid_values_are_refused_naming_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(LoadConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        LoadConfig.from_json(config_json(**changes))


def test_a_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(LoadConfigError, match=r"c\.json: cannot read"):
        LoadConfig.load(path)


def test_errors_inside_a_file_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(config_json(request_timeout=-2)), encoding="utf-8")

    with pytest.raises(LoadConfigError, match=r"c\.json: request_timeout: got -2\.0"):
        LoadConfig.load(path)


def open_json(**changes: Any) -> dict[str, Any]:
    data = config_json(
        arrivals={
            "stages": [
                {"duration": 20, "rate": 5.0, "ramp": False},
                {"duration": 30, "rate": 50.0, "ramp": True},
            ],
            "max_concurrency": 500,
        },
        mix={"buyer": 70, "browser": 30},
    )
    del data["stages"]
    data.update(changes)
    return data


def test_an_open_model_config_round_trips_with_its_defaults_filled_in(tmp_path: Path) -> None:
    config = LoadConfig.from_json(open_json())
    config.dump(tmp_path / "c.json")

    assert LoadConfig.load(tmp_path / "c.json") == config
    assert config.stages == ()
    assert config.arrivals == Arrivals(
        stages=(ArrivalStage(20.0, 5.0, ramp=False), ArrivalStage(30.0, 50.0, ramp=True)),
        max_concurrency=500,
        spacing=Spacing.EVEN,
    )
    assert config.mix == Mix(buyer=70.0, browser=30.0)
    assert config.total_duration == 50.0
    assert config.to_json()["arrivals"] == {
        "stages": [
            {"duration": 20.0, "rate": 5.0, "ramp": False},
            {"duration": 30.0, "rate": 50.0, "ramp": True},
        ],
        "max_concurrency": 500,
        "spacing": "even",
    }


def test_todays_configs_stay_valid_and_mean_buyers_only() -> None:
    config = LoadConfig.from_json(config_json())

    assert config.arrivals is None
    assert config.mix == Mix(buyer=1.0, browser=0.0)
    assert config.mix.share(UserKind.BUYER) == 1.0
    assert config.to_json()["mix"] == {"buyer": 1.0, "browser": 0.0}


def test_arrival_stage_and_mix_keys_that_are_left_out_take_their_defaults() -> None:
    config = LoadConfig.from_json(
        open_json(arrivals={"stages": [{"duration": 5, "rate": 2}]}, mix={"browser": 1})
    )

    assert config.arrivals == Arrivals(stages=(ArrivalStage(5.0, 2.0),))
    assert config.arrivals.max_concurrency == 100
    assert config.mix == Mix(buyer=0.0, browser=1.0)


def test_mix_shares_are_the_weights_ratio() -> None:
    mix = Mix(buyer=70, browser=30)

    assert mix.share(UserKind.BUYER) == pytest.approx(0.7)
    assert mix.share(UserKind.BROWSER) == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stages": [{"duration": 1, "users": 1, "spawn_rate": 1}]}, "stages: got 1 stage(s)"),
        ({"arrivals": None}, "stages: got []"),
        ({"arrivals": {"stages": []}}, "arrivals: stages: got []"),
        ({"arrivals": {"stages": [{"duration": 1, "rate": 0}]}}, "arrivals: stages: got [0.0]"),
        (
            {"arrivals": {"stages": [{"duration": 1, "rate": 1}, {"duration": 0, "rate": 1}]}},
            "arrivals: stages[1]: duration: got 0.0",
        ),
        ({"arrivals": {"stages": [{"duration": 1, "rate": -2}]}}, "stages[0]: rate: got -2.0"),
        ({"arrivals": {"stages": [{"duration": 1, "rate": 1e9}]}}, "rate: got 1000000000.0"),
        ({"arrivals": {"stages": [{"duration": 1, "rate": "5"}]}}, "rate: got '5'"),
        (
            {"arrivals": {"stages": [{"duration": 1, "rate": 1, "ramp": "yes"}]}},
            "stages[0]: ramp: got 'yes'",
        ),
        ({"arrivals": {"stages": [{"duration": 1}]}}, "missing keys ['rate']"),
        ({"arrivals": {"stages": [{"duration": 1, "rate": 1, "users": 3}]}}, "unknown keys"),
        (
            {"arrivals": {"stages": [{"duration": 1, "rate": 1}], "max_concurrency": 0}},
            "arrivals: max_concurrency: got 0",
        ),
        (
            {"arrivals": {"stages": [{"duration": 1, "rate": 1}], "max_concurrency": 2.5}},
            "arrivals: max_concurrency: got 2.5",
        ),
        (
            {"arrivals": {"stages": [{"duration": 1, "rate": 1}], "spacing": "random"}},
            "arrivals: spacing: got 'random', expected one of ['even', 'poisson']",
        ),
        ({"arrivals": [1, 2]}, "arrivals: got [1, 2]"),
        ({"mix": {"buyer": -1}}, "mix: buyer: got -1.0"),
        ({"mix": {"buyer": 0, "browser": 0}}, "mix: weights: got {'buyer': 0.0, 'browser': 0.0}"),
        ({"mix": {"robot": 5}}, "mix: got {'robot': 5}: unknown keys ['robot']"),
        ({"mix": {"buyer": True}}, "mix: buyer: got True"),
        ({"mix": None}, "mix: got None"),
    ],
)
def test_invalid_open_model_and_mix_values_are_refused_naming_the_key(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(LoadConfigError, match=re.escape(message)):
        LoadConfig.from_json(open_json(**changes))


def test_a_config_built_in_code_must_choose_one_model() -> None:
    with pytest.raises(LoadConfigError, match="either stages"):
        LoadConfig(
            host="http://127.0.0.1:8080",
            stats_path=Path("/tmp/s.jsonl"),
            stages=(Stage(1, 1, 1),),
            arrivals=Arrivals(stages=(ArrivalStage(1, 1.0),)),
        )
