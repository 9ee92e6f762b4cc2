"""Serve settings, in process: defaults, environment parsing, ranges, what is published."""

from __future__ import annotations

import argparse

import pytest
from booking.settings import ServeSettings, SettingsError, serve_settings_from

URL = "postgresql://booker:s3cret@127.0.0.1:6543/tickets"


def settings(flags: dict[str, object] | None = None, **env: str) -> ServeSettings:
    """Settings from these flags (absent ones None) and ``BOOKING_*`` variables."""
    environ = {"BOOKING_DATABASE_URL": URL, **env}
    return serve_settings_from(argparse.Namespace(**(flags or {})), environ)


def test_defaults_are_the_incidents_design() -> None:
    before = settings()
    assert (before.pool_size, before.pool_min_size, before.acquire_timeout) == (100, 2, 5.0)
    assert (before.pool_max_lifetime, before.pool_max_idle) == (3600.0, 600.0)
    assert before.breaker is False
    assert before.liveness_checks_db is True


def test_min_size_defaults_to_two_capped_at_the_pool_size() -> None:
    assert settings(BOOKING_POOL_SIZE="1").pool_min_size == 1
    assert settings(BOOKING_POOL_SIZE="1", BOOKING_POOL_MIN_SIZE="0").pool_min_size == 0


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("On", True), ("yes", True), ("0", False), ("off", False)]
)
def test_switches_read_the_usual_words_from_the_environment(raw: str, expected: bool) -> None:
    assert settings(BOOKING_BREAKER=raw).breaker is expected
    assert settings(BOOKING_LIVENESS_CHECKS_DB=raw).liveness_checks_db is expected


def test_a_switch_flag_wins_over_its_variable() -> None:
    chosen = settings({"breaker": False, "liveness_checks_db": True}, BOOKING_BREAKER="1",
                      BOOKING_LIVENESS_CHECKS_DB="0")  # fmt: skip
    assert (chosen.breaker, chosen.liveness_checks_db) == (False, True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BOOKING_BREAKER": "maybe"}, "BOOKING_BREAKER='maybe' is not a boolean"),
        ({"BOOKING_POOL_SIZE": "5", "BOOKING_POOL_MIN_SIZE": "6"}, "min size must be in 0..5"),
        ({"BOOKING_BREAKER_FAILURE_THRESHOLD": "0"}, "failure threshold must be at least 1"),
        ({"BOOKING_BREAKER_RESET_TIMEOUT": "0"}, "breaker-reset-timeout must be positive"),
        ({"BOOKING_POOL_MAX_LIFETIME": "-1"}, "pool-max-lifetime must be positive"),
        ({"BOOKING_POOL_MAX_IDLE": "0"}, "pool-max-idle must be positive"),
        ({"BOOKING_DATABASE_URL": "postgresql://[::1"}, "database URL cannot be parsed"),
    ],
)
def test_unusable_settings_are_refused_by_name(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[")):
        settings(**env)


def test_published_settings_name_the_database_without_its_password() -> None:
    published = settings().public()
    assert published["database"] == {
        "host": "127.0.0.1",
        "port": 6543,
        "dbname": "tickets",
        "user": "booker",
    }
    assert "database_url" not in published
    assert "s3cret" not in repr(published)
