"""The harness's integrity check against a real booking database: it passes a healthy
one, and catches what a broken purchase path would leave behind (a booking a client was
told about but that never committed, a seat sold twice, seats that do not add up)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from harness.grading.integrity import check_integrity


def buy(service: Any, count: int) -> list[str]:
    """Hold and buy ``count`` single seats through the API; the acknowledged booking ids."""
    ids = []
    for _ in range(count):
        hold = service.post("/events/1/holds", {"section": "floor", "quantity": 1})
        assert hold.status == 201, hold.body
        key = {"Idempotency-Key": str(uuid.uuid4())}
        bought = service.post(f"/holds/{hold.body['hold_id']}/purchase", None, key)
        assert bought.status == 201, bought.body
        ids.append(bought.body["booking_id"])
    return ids


@pytest.fixture
def sold(make_database: Callable[..., str], start_service: Callable[..., Any]):
    url = make_database("--seats", "100")
    service = start_service(url)
    return url, buy(service, 3)


def test_a_healthy_database_passes(sold) -> None:
    url, acknowledged = sold

    report = check_integrity(url, acknowledged)

    assert report.ok, report.summary
    assert (report.acknowledged, report.bookings_in_db, report.unacknowledged_commits) == (3, 3, 0)
    assert report.seats["sold"] == 3


def test_an_acknowledged_booking_that_never_committed_is_lost(sold) -> None:
    url, acknowledged = sold
    with psycopg.connect(url) as conn:  # what a purchase acknowledged before COMMIT leaves
        conn.execute(
            "UPDATE seats SET status = 'held', booking_id = NULL, "
            "held_until = now() WHERE booking_id = %s",
            (acknowledged[0],),
        )
        conn.execute("DELETE FROM bookings WHERE id = %s", (acknowledged[0],))

    report = check_integrity(url, acknowledged)

    assert not report.ok
    assert report.lost_bookings == [acknowledged[0]]
    assert "1 acknowledged bookings missing" in report.summary


def test_a_seat_sold_twice_is_caught(sold) -> None:
    url, acknowledged = sold
    with psycopg.connect(url) as conn:  # the second sale took a seat the first already had
        conn.execute(
            "UPDATE seats SET booking_id = %s WHERE booking_id = %s",
            (acknowledged[1], acknowledged[0]),
        )

    report = check_integrity(url, acknowledged)

    assert not report.ok
    assert report.violations["seat_sold_to_other_hold"] == 1
    assert report.violations["booking_seat_mismatch"] == 2
    assert "sold twice" in report.summary


def test_seats_that_do_not_add_up_to_capacity_are_caught(sold) -> None:
    url, acknowledged = sold
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO seats (event_id, section, row_label, seat_number, price_cents)"
            " VALUES (1, 'floor', 'ZZ', 1, 100)"
        )

    report = check_integrity(url, acknowledged)

    assert report.violations["capacity_mismatch"] == 1
    assert not report.ok


def test_a_commit_whose_client_saw_a_failure_is_counted_not_failed(sold) -> None:
    url, acknowledged = sold

    report = check_integrity(url, acknowledged[1:])  # the client never heard of the first

    assert report.ok
    assert report.unacknowledged_commits == 1
