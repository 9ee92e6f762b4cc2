"""Many buyers at once, all over HTTP: no seat is sold twice and the counts add up."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from conftest import Service

BUYERS = 80
SEATS = 24

# The integrity checks the harness runs, as documented in stack/booking/README.md:
# each query lists violations, so an empty result means the invariant holds.
INTEGRITY_CHECKS = {
    "seat counts differ from capacity": """
        SELECT e.id FROM events e LEFT JOIN seats s ON s.event_id = e.id
        GROUP BY e.id, e.capacity
        HAVING count(s.id) <> e.capacity
            OR count(*) FILTER (WHERE s.status IN ('free', 'held', 'sold')) <> e.capacity
    """,
    "booking without exactly its hold's seats sold": """
        SELECT b.id FROM bookings b JOIN holds h ON h.id = b.hold_id
        WHERE h.quantity <> (SELECT count(*) FROM seats s
                             WHERE s.booking_id = b.id AND s.status = 'sold')
    """,
    "sold seat without a booking, or booked seat not sold": """
        SELECT id FROM seats WHERE (status = 'sold') <> (booking_id IS NOT NULL)
    """,
    "purchased hold without a booking": """
        SELECT h.id FROM holds h LEFT JOIN bookings b ON b.hold_id = h.id
        WHERE h.status = 'purchased' AND b.id IS NULL
    """,
}


def buy_some_seats(service: Service, buyer: int) -> dict[str, Any]:
    """One buyer's journey: hold 1-3 seats, then purchase twice with one key at once."""
    quantity = buyer % 3 + 1
    held = service.post("/events/1/holds", {"section": "tiny", "quantity": quantity})
    if held.status != 201:
        return {"hold": held.status, "error": held.body.get("error")}
    path = f"/holds/{held.body['hold_id']}/purchase"
    headers = {"Idempotency-Key": f"buyer-{buyer}"}
    # The same purchase sent twice concurrently, as a client retrying too eagerly would.
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda _: service.post(path, headers=headers), range(2)))
    return {
        "hold": 201,
        "quantity": quantity,
        "purchases": sorted(reply.status for reply in replies),
        "bookings": {reply.body.get("booking_id") for reply in replies},
        "seat_ids": replies[0].body.get("seat_ids", []),
    }


def test_concurrent_buyers_never_share_a_seat_and_counts_add_up(
    make_database: Callable[..., str], start_service: Callable[..., Service]
) -> None:
    url = make_database("--sections", f"tiny:{SEATS}:5000,spare:10:1000")
    service = start_service(url, "--pool-size", "8", "--acquire-timeout", "10")

    with ThreadPoolExecutor(max_workers=BUYERS) as pool:
        outcomes = list(pool.map(lambda buyer: buy_some_seats(service, buyer), range(BUYERS)))

    bought = [o for o in outcomes if o["hold"] == 201]
    refused = Counter((o["hold"], o["error"]) for o in outcomes if o["hold"] != 201)
    assert set(refused) <= {(409, "sold_out")}, refused
    assert bought and refused  # the section sold out under contention
    for outcome in bought:
        assert outcome["purchases"] == [200, 201]  # one booking, one idempotent replay
        assert len(outcome["bookings"]) == 1
        assert len(outcome["seat_ids"]) == outcome["quantity"]

    told_sold = [seat for outcome in bought for seat in outcome["seat_ids"]]
    assert len(told_sold) == len(set(told_sold)), "a seat was sold to two buyers"
    assert len(told_sold) > SEATS - 3  # a hold fails only when fewer than 3 seats remain

    tiny = next(s for s in service.get("/events/1/availability").body["sections"]
                if s["section"] == "tiny")  # fmt: skip
    assert (tiny["sold"], tiny["held"]) == (len(told_sold), 0)
    assert tiny["free"] + tiny["held"] + tiny["sold"] == SEATS
    _assert_database_agrees(url, told_sold, len(bought))


def _assert_database_agrees(url: str, told_sold: list[int], bookings: int) -> None:
    with psycopg.connect(url) as conn:
        for violation, query in INTEGRITY_CHECKS.items():
            assert conn.execute(query).fetchall() == [], violation
        sold = [row[0] for row in conn.execute("SELECT id FROM seats WHERE status = 'sold'")]
        assert sorted(sold) == sorted(told_sold)
        assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (bookings,)
