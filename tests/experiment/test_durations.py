"""Durations as written in experiments: parsing, refusing, and printing them back."""

from __future__ import annotations

import pytest

from harness.experiment.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        (0, 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("30s", 30.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        ("1m30s", 90.0),
        ("2h", 7200.0),
        ("1h1m1s", 3661.0),
        (" 1m 30s ", 90.0),
        ("1m500ms", 60.5),
    ],
)
def test_parse_duration_accepts_numbers_and_unit_strings(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "abc",
        "s",
        "5m30",
        "1.2.3s",
        "-5s",
        "10 minutes",
        "nan",
        "inf",
        float("nan"),
        float("inf"),
        True,
        False,
        None,
        [1],
        {"s": 1},
    ],
)
def test_parse_duration_refuses_anything_else_and_says_what_is_accepted(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)

    message = str(caught.value)
    assert "expected a duration" in message
    assert '"1m30s"' in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "0.5s"),
        (45, "45s"),
        (59.5, "59.5s"),
        (60, "1m"),
        (75, "1m15s"),
        (90.5, "1m30.5s"),
        (3600, "1h"),
        (3601, "1h1s"),
        (3660, "1h1m"),
        (3661, "1h1m1s"),
        (7200, "2h"),
    ],
)
def test_format_duration_is_compact(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.25, 1, 59, 61, 90.5, 600, 3599, 3600, 5430, 21600])
def test_formatted_duration_parses_back_to_the_same_seconds(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
