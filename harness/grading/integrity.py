"""After the run: does the database agree with what clients were told?

Reads the reference booking schema (events, holds, bookings, seats) straight from
PostgreSQL, not through the fault proxy. A violation fails the run whatever the SLOs
say: a fast service that oversells or loses bookings is not a passing service.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from harness.errors import StackError

log = logging.getLogger(__name__)

# Each check counts rows that break one invariant; every count must be zero.
CHECKS: dict[str, tuple[str, str]] = {
    "capacity_mismatch": (
        "events whose seat rows do not add up to their capacity",
        """SELECT count(*) FROM events e
           WHERE e.capacity <> (SELECT count(*) FROM seats s WHERE s.event_id = e.id)""",
    ),
    "booking_seat_mismatch": (
        "bookings that do not own exactly the seats of their hold",
        """SELECT count(*) FROM (
             SELECT b.id FROM bookings b JOIN holds h ON h.id = b.hold_id
             LEFT JOIN seats s ON s.booking_id = b.id
             GROUP BY b.id, h.quantity HAVING count(s.id) <> h.quantity) AS broken""",
    ),
    "seat_sold_to_other_hold": (
        "sold seats whose booking came from a different hold (a seat sold twice)",
        """SELECT count(*) FROM seats s JOIN bookings b ON b.id = s.booking_id
           WHERE s.hold_id IS DISTINCT FROM b.hold_id""",
    ),
    "sold_without_booking": (
        "seats marked sold with no booking, or booked but not marked sold",
        """SELECT count(*) FROM seats
           WHERE (status = 'sold') <> (booking_id IS NOT NULL)""",
    ),
}


@dataclass
class IntegrityReport:
    """What the check found; ``ok`` is False on any violation."""

    checked: bool
    violations: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    lost_bookings: list[str] = field(default_factory=list)
    bookings_in_db: int = 0
    unacknowledged_commits: int = 0
    seats: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """No violation and no acknowledged booking missing."""
        return self.checked and not any(self.violations.values()) and not self.lost_bookings

    @property
    def summary(self) -> str:
        """One sentence for the verdict."""
        if not self.checked:
            return f"not checked ({self.error})"
        broken = [f"{CHECKS[k][0]}: {v}" for k, v in self.violations.items() if v]
        if self.lost_bookings:
            broken.append(
                f"{len(self.lost_bookings)} acknowledged bookings missing from the database"
            )
        if broken:
            return "; ".join(broken)
        return (
            f"{self.acknowledged} acknowledged bookings all present, no seat sold twice, "
            f"seat counts add up"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data for verdict.json."""
        data = asdict(self)
        data["ok"] = self.ok
        data["summary"] = self.summary
        return data


def check_integrity(database_url: str, acknowledged_ids: Iterable[str]) -> IntegrityReport:
    """Run every check against the database at ``database_url``."""
    acknowledged = sorted(set(acknowledged_ids))
    report = IntegrityReport(checked=True, acknowledged=len(acknowledged))
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            for key, (_, sql) in CHECKS.items():
                row = conn.execute(sql).fetchone()
                report.violations[key] = int(row[0]) if row else 0
            found = {
                str(r[0])
                for r in conn.execute(
                    "SELECT id::text FROM bookings WHERE id::text = ANY(%s)", (acknowledged,)
                )
            }
            report.lost_bookings = [b for b in acknowledged if b not in found]
            row = conn.execute("SELECT count(*) FROM bookings").fetchone()
            report.bookings_in_db = int(row[0]) if row else 0
            report.seats = {
                str(status): int(n)
                for status, n in conn.execute("SELECT status, count(*) FROM seats GROUP BY status")
            }
    except psycopg.Error as exc:
        raise StackError(f"integrity check could not read the database: {exc}") from exc
    report.unacknowledged_commits = report.bookings_in_db - (
        len(acknowledged) - len(report.lost_bookings)
    )
    log.info("integrity: %s", report.summary)
    return report
