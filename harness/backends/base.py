"""What every backend gives the run: a stack it brings up, describes and always takes down.

A backend is how the stack is run (local processes, Docker containers); the stack
itself is the same everywhere: PostgreSQL behind the Toxiproxy proxy ``postgres``,
and the booking service in front, all reached on loopback addresses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class StackEndpoints:
    """Where the running stack's parts can be reached."""

    booking_url: str
    toxiproxy_url: str
    database_url: str
    proxies: dict[str, str] = field(default_factory=dict)


class Stack(Protocol):
    """A stack a backend runs. ``stop`` is idempotent and safe after a failed ``start``."""

    endpoints: StackEndpoints | None

    def start(self) -> StackEndpoints:
        """Bring every service up and wait until each is ready."""

    def stop(self) -> float:
        """Take everything down; the seconds it took."""

    def describe(self) -> dict[str, object]:
        """Addresses, timings and choices, for the results folder."""

    def replica_urls(self) -> dict[str, str]:
        """Each booking replica's own address, by name (probes and metrics)."""

    def replica_action(self, name: str, action: str) -> None:
        """kill, stop, start, pause, resume or restart one replica."""
