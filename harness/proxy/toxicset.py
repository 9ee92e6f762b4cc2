"""The toxics of one proxy: an ordered chain per stream, and the open links they act on.

Toxiproxy keeps one chain per direction (``upstream`` = client to server, ``downstream``
= server to client). Listings show every upstream toxic first, then every downstream
one, each in creation order. Names are unique across both streams. Every change is
applied to the links of already-open connections at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.proxy.errors import toxic_already_exists, toxic_not_found
from harness.proxy.gojson import Float32
from harness.proxy.toxics import Toxic

if TYPE_CHECKING:
    from harness.proxy.link import Link

__all__ = ["DIRECTIONS", "ToxicEntry", "ToxicSet"]

logger = logging.getLogger(__name__)

DIRECTIONS = ("upstream", "downstream")


@dataclass(eq=False)
class ToxicEntry:
    """A toxic as configured on a proxy (Toxiproxy's ``ToxicWrapper``).

    ``stream`` keeps the spelling the client sent (``"UpStream"``); ``direction`` is
    the parsed, lower-case stream. ``toxic`` and ``toxicity`` change on update.
    """

    name: str
    type_name: str
    stream: str
    direction: str
    toxicity: float
    toxic: Toxic

    def to_json(self) -> dict[str, Any]:
        """The API form, in Toxiproxy's key order."""
        return {
            "attributes": self.toxic.attributes(),
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream,
            "toxicity": Float32(self.toxicity),
        }


class ToxicSet:
    """The two toxic chains of a proxy and the links of its open connections."""

    def __init__(self, proxy_name: str) -> None:
        self._proxy_name = proxy_name
        self._chains: dict[str, list[ToxicEntry]] = {d: [] for d in DIRECTIONS}
        self._links: dict[str, set[Link]] = {d: set() for d in DIRECTIONS}

    def entries(self) -> list[ToxicEntry]:
        """All toxics: upstream ones first, then downstream, each in creation order."""
        return [entry for direction in DIRECTIONS for entry in self._chains[direction]]

    def chain(self, direction: str) -> list[ToxicEntry]:
        """A copy of one stream's chain."""
        return list(self._chains[direction])

    def find(self, name: str) -> ToxicEntry | None:
        """The toxic named ``name`` in either stream, or None."""
        return next((entry for entry in self.entries() if entry.name == name), None)

    def get(self, name: str) -> ToxicEntry:
        """The toxic named ``name``; ``toxic not found`` (404) otherwise."""
        entry = self.find(name)
        if entry is None:
            raise toxic_not_found()
        return entry

    def has_resetting_toxic(self) -> bool:
        """Whether a toxic that turns closes into resets (``reset_peer``) is present."""
        return any(entry.toxic.resets_on_close for entry in self.entries())

    # ---------------------------------------------------------------- changes

    def add(self, entry: ToxicEntry) -> None:
        """Append a toxic to its stream and to every open link of that stream."""
        if self.find(entry.name) is not None:
            raise toxic_already_exists()
        self._chains[entry.direction].append(entry)
        for link in list(self._links[entry.direction]):
            link.add_toxic(entry)
        logger.info(
            "proxy %s: added %s toxic %r on %s (toxicity %g, %s)",
            self._proxy_name,
            entry.type_name,
            entry.name,
            entry.direction,
            entry.toxicity,
            entry.toxic.attributes(),
        )

    def update(self, entry: ToxicEntry, toxic: Toxic, toxicity: float) -> None:
        """Change a toxic's attributes and toxicity; its stages restart with them."""
        entry.toxic = toxic
        entry.toxicity = toxicity
        for link in list(self._links[entry.direction]):
            link.update_toxic(entry)
        logger.info("proxy %s: updated toxic %r", self._proxy_name, entry.name)

    def remove(self, name: str) -> None:
        """Remove a toxic from its stream and from every open link."""
        entry = self.get(name)
        self._chains[entry.direction].remove(entry)
        for link in list(self._links[entry.direction]):
            link.remove_toxic(entry)
        logger.info("proxy %s: removed toxic %r", self._proxy_name, name)

    def clear(self) -> None:
        """Remove every toxic (``POST /reset``), with the same effects as removing each."""
        for entry in self.entries():
            self.remove(entry.name)

    # ---------------------------------------------------------------- links

    def attach(self, link: Link) -> None:
        """Make toxic changes reach ``link`` (a new connection's direction)."""
        self._links[link.direction].add(link)

    def detach(self, link: Link) -> None:
        """Stop tracking a finished link."""
        self._links[link.direction].discard(link)
