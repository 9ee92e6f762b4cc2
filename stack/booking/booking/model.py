"""What the API sells and shows: events, availability, holds and bookings.

Each value knows its JSON shape (``as_json``), so the HTTP layer never builds dicts
by hand and the store never knows about HTTP.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """A concert on sale."""

    id: int
    name: str
    starts_at: datetime
    capacity: int

    def as_json(self) -> dict[str, Any]:
        """The event as the API shows it."""
        return {**asdict(self), "starts_at": self.starts_at.isoformat()}


@dataclass(frozen=True)
class SectionAvailability:
    """Seat counts of one section; free + held + sold = capacity."""

    section: str
    price_cents: int
    capacity: int
    free: int
    held: int
    sold: int


@dataclass(frozen=True)
class Availability:
    """Seat counts of one event, per section, most expensive section first."""

    event_id: int
    sections: list[SectionAvailability]

    def as_json(self) -> dict[str, Any]:
        """The availability as the API shows it."""
        return {
            "event_id": self.event_id,
            "free": sum(section.free for section in self.sections),
            "sections": [asdict(section) for section in self.sections],
        }


@dataclass(frozen=True)
class Hold:
    """Seats set aside for one buyer until ``expires_at``."""

    hold_id: uuid.UUID
    event_id: int
    section: str
    seat_ids: list[int]
    expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The hold as the API shows it."""
        return {
            "hold_id": str(self.hold_id),
            "event_id": self.event_id,
            "section": self.section,
            "seat_ids": self.seat_ids,
            "expires_at": self.expires_at.isoformat(),
        }


@dataclass(frozen=True)
class Booking:
    """A confirmed purchase of a hold's seats."""

    booking_id: uuid.UUID
    hold_id: uuid.UUID
    event_id: int
    seat_ids: list[int]
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        """The booking as the API shows it."""
        return {
            "booking_id": str(self.booking_id),
            "hold_id": str(self.hold_id),
            "event_id": self.event_id,
            "seat_ids": self.seat_ids,
            "status": "confirmed",
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Purchase:
    """The outcome of a purchase: the booking, and whether it was made just now."""

    booking: Booking
    created: bool
