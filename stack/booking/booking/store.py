"""The booking operations, each one transaction on one pooled connection.

How a seat is never sold twice under any concurrency:

- a hold takes seats with ``SELECT ... FOR UPDATE SKIP LOCKED``, so two holds racing
  for one section lock disjoint seats, and a seat is takeable only when free or when
  its previous hold has lapsed (``held_until <= now()``);
- a purchase locks its hold row, then moves exactly the seats still held by that hold
  to ``sold``; if another hold took some of them after the lapse, the counts differ and
  the purchase is refused as expired, rolling everything back;
- the table constraints (see ``schema``) refuse any state that breaks the invariants.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from booking.db import Database
from booking.errors import Conflict, NotFound
from booking.model import Availability, Booking, Event, Hold, Purchase, SectionAvailability

logger = logging.getLogger(__name__)

# Seats that a new hold may take: free ones, and held ones whose hold has lapsed.
_TAKEABLE = "(status = 'free' OR (status = 'held' AND held_until <= now()))"

_TAKE_SEATS = f"""
WITH picked AS (
    SELECT id FROM seats
    WHERE event_id = %(event_id)s AND section = %(section)s AND status <> 'sold'
      AND {_TAKEABLE}
    ORDER BY id
    LIMIT %(quantity)s
    FOR UPDATE SKIP LOCKED
)
UPDATE seats SET status = 'held', hold_id = %(hold_id)s, held_until = %(expires_at)s
FROM picked WHERE seats.id = picked.id
RETURNING seats.id
"""

_AVAILABILITY = f"""
SELECT section, max(price_cents) AS price_cents, count(*) AS capacity,
       count(*) FILTER (WHERE {_TAKEABLE}) AS free,
       count(*) FILTER (WHERE status = 'held' AND held_until > now()) AS held,
       count(*) FILTER (WHERE status = 'sold') AS sold
FROM seats WHERE event_id = %s
GROUP BY section ORDER BY max(price_cents) DESC, section
"""


class Store:
    """The service's operations on the booking database."""

    def __init__(self, database: Database, hold_ttl: float) -> None:
        self._db = database
        self._hold_ttl = hold_ttl

    async def list_events(self) -> list[Event]:
        """Every event, soonest first."""
        async with self._db.transaction() as conn:
            cur = conn.cursor(row_factory=class_row(Event))
            await cur.execute(
                "SELECT id, name, starts_at, capacity FROM events ORDER BY starts_at, id"
            )
            return await cur.fetchall()

    async def availability(self, event_id: int) -> Availability:
        """Free, held and sold seats per section; a lapsed hold's seats count as free."""
        async with self._db.transaction() as conn:
            cur = conn.cursor(row_factory=class_row(SectionAvailability))
            await cur.execute(_AVAILABILITY, (event_id,))
            sections = await cur.fetchall()
            if not sections and not await _event_exists(conn, event_id):
                raise NotFound("event_not_found", f"no event {event_id}", event_id=event_id)
        return Availability(event_id, sections)

    async def create_hold(self, event_id: int, section: str, quantity: int) -> Hold:
        """Set aside ``quantity`` seats of one section, or raise ``Conflict("sold_out")``."""
        hold_id = uuid.uuid4()
        async with self._db.transaction() as conn:
            expires_at = await _insert_hold(
                conn, hold_id, event_id, section, quantity, self._hold_ttl
            )
            cur = await conn.execute(
                _TAKE_SEATS,
                {
                    "event_id": event_id,
                    "section": section,
                    "quantity": quantity,
                    "hold_id": hold_id,
                    "expires_at": expires_at,
                },
            )
            seat_ids = sorted(row[0] for row in await cur.fetchall())
            if len(seat_ids) < quantity:
                await _raise_unavailable(conn, hold_id, event_id, section, quantity)
        return Hold(hold_id, event_id, section, seat_ids, expires_at)

    async def purchase(self, hold_id: uuid.UUID, idempotency_key: str) -> Purchase:
        """Buy a hold's seats once per idempotency key; a replay returns the same booking."""
        try:
            return await self._purchase_once(hold_id, idempotency_key)
        except psycopg.errors.UniqueViolation:
            # A concurrent request with the same key, for another hold, committed first
            # (same-hold races serialize on the hold's row lock instead). Its booking
            # is visible now, so the second pass answers from it.
            logger.info("purchase of hold %s raced another; answering from the winner", hold_id)
            return await self._purchase_once(hold_id, idempotency_key)

    async def get_booking(self, booking_id: uuid.UUID) -> Booking:
        """One booking with its seats."""
        async with self._db.transaction() as conn:
            booking = await _load_booking(conn, "id", booking_id)
        if booking is None:
            raise NotFound("booking_not_found", f"no booking {booking_id}")
        return booking

    async def _purchase_once(self, hold_id: uuid.UUID, key: str) -> Purchase:
        async with self._db.transaction() as conn:
            earlier = await _load_booking(conn, "idempotency_key", key)
            if earlier is not None:
                return _replay(earlier, hold_id)
            cur = await conn.execute(
                "SELECT event_id, quantity, status, expires_at <= now() FROM holds "
                "WHERE id = %s FOR UPDATE",
                (hold_id,),
            )
            hold = await cur.fetchone()
            if hold is None:
                raise NotFound("hold_not_found", f"no hold {hold_id}")
            event_id, quantity, status, expired = hold
            if status == "purchased":
                # Under READ COMMITTED this statement sees a booking committed while we
                # waited for the hold's lock: a concurrent request with our key won.
                winner = await _load_booking(conn, "idempotency_key", key)
                if winner is not None:
                    return _replay(winner, hold_id)
                raise Conflict("hold_already_purchased", f"hold {hold_id} was bought already")
            if expired:
                raise Conflict("hold_expired", f"hold {hold_id} has expired")
            booking = await _insert_booking(conn, hold_id, key, event_id, quantity)
        return Purchase(booking, created=True)


async def _event_exists(conn: psycopg.AsyncConnection, event_id: int) -> bool:
    cur = await conn.execute("SELECT 1 FROM events WHERE id = %s", (event_id,))
    return await cur.fetchone() is not None


async def _insert_hold(
    conn: psycopg.AsyncConnection,
    hold_id: uuid.UUID,
    event_id: int,
    section: str,
    quantity: int,
    ttl: float,
) -> datetime:
    """Insert the hold row first: the seats' foreign key needs it."""
    try:
        cur = await conn.execute(
            "INSERT INTO holds (id, event_id, section, quantity, expires_at) "
            "VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING expires_at",
            (hold_id, event_id, section, quantity, ttl),
        )
    except psycopg.errors.ForeignKeyViolation as exc:
        raise NotFound("event_not_found", f"no event {event_id}", event_id=event_id) from exc
    row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING always yields the row
    expires_at: datetime = row[0]
    return expires_at


async def _raise_unavailable(
    conn: psycopg.AsyncConnection, hold_id: uuid.UUID, event_id: int, section: str, quantity: int
) -> None:
    """Explain why a hold got too few seats: no such section, or not enough free.

    The seats this failed hold took count as free: the rollback gives them back.
    """
    cur = await conn.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {_TAKEABLE} OR hold_id = %s) FROM seats "
        "WHERE event_id = %s AND section = %s",
        (hold_id, event_id, section),
    )
    row = await cur.fetchone()
    total, free = row if row is not None else (0, 0)
    if total == 0:
        raise NotFound(
            "section_not_found",
            f"event {event_id} has no section {section!r}",
            event_id=event_id,
            section=section,
        )
    raise Conflict(
        "sold_out",
        f"section {section!r} has fewer than {quantity} free seats",
        event_id=event_id,
        section=section,
        requested=quantity,
        free=free,
    )


async def _insert_booking(
    conn: psycopg.AsyncConnection, hold_id: uuid.UUID, key: str, event_id: int, quantity: int
) -> Booking:
    booking_id = uuid.uuid4()
    cur = await conn.execute(
        "INSERT INTO bookings (id, hold_id, idempotency_key, event_id) "
        "VALUES (%s, %s, %s, %s) RETURNING created_at",
        (booking_id, hold_id, key, event_id),
    )
    row = await cur.fetchone()
    assert row is not None  # INSERT ... RETURNING always yields the row
    cur = await conn.execute(
        "UPDATE seats SET status = 'sold', booking_id = %s, held_until = NULL "
        "WHERE hold_id = %s AND status = 'held' RETURNING id",
        (booking_id, hold_id),
    )
    seat_ids = sorted(seat[0] for seat in await cur.fetchall())
    if len(seat_ids) != quantity:
        # Another hold took some of these seats after this hold lapsed.
        raise Conflict("hold_expired", f"hold {hold_id} has expired")
    await conn.execute("UPDATE holds SET status = 'purchased' WHERE id = %s", (hold_id,))
    return Booking(booking_id, hold_id, event_id, seat_ids, row[0])


async def _load_booking(
    conn: psycopg.AsyncConnection, column: str, value: object
) -> Booking | None:
    """Find one booking by ``id`` or ``idempotency_key`` (trusted column names only)."""
    assert column in ("id", "idempotency_key")
    cur = await conn.execute(
        f"SELECT b.id, b.hold_id, b.event_id, b.created_at, "
        f"array(SELECT s.id FROM seats s WHERE s.booking_id = b.id ORDER BY s.id) "
        f"FROM bookings b WHERE b.{column} = %s",
        (value,),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    booking_id, hold_id, event_id, created_at, seat_ids = row
    return Booking(booking_id, hold_id, event_id, list(seat_ids), created_at)


def _replay(earlier: Booking, hold_id: uuid.UUID) -> Purchase:
    """Answer a repeated idempotency key: the same booking, if it was for the same hold."""
    if earlier.hold_id != hold_id:
        raise Conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was already used to buy a different hold",
        )
    return Purchase(earlier, created=False)
