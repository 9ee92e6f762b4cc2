"""The load config: JSON round trip, the stage schedule, and refusals with clear messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.load.config import LoadConfig, LoadConfigError, Stage


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
