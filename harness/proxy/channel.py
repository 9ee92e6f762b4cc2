r"""The queues between toxic stages, and the items that travel through them.

A link's data moves as :class:`Chunk` items (bytes plus the time they were read) and
ends with :data:`EOF`. Each stage reads from its own :class:`Channel`; its output is
either the next stage's channel or the link's sink, both :class:`Outlet` objects. Channels
never refuse an item: the link counts every queued byte (:class:`FlowAccount`) and
pauses reading its socket when too many wait, which bounds memory without ever making
a move between queues wait half-way.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from typing import Protocol

__all__ = [
    "EOF",
    "WOKEN",
    "Channel",
    "Chunk",
    "EndOfStream",
    "FlowAccount",
    "Item",
    "Outlet",
    "Wakeup",
    "wake",
]


class EndOfStream:
    """The type of :data:`EOF`, the end-of-stream item."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EOF"


EOF = EndOfStream()


class Chunk:
    """Bytes read from a socket, stamped with the monotonic time they were read at."""

    __slots__ = ("data", "timestamp")

    def __init__(self, data: bytes | memoryview, timestamp: float) -> None:
        self.data = data
        self.timestamp = timestamp

    def __repr__(self) -> str:
        return f"Chunk({len(self.data)} bytes @ {self.timestamp:.3f})"


Item = Chunk | EndOfStream


class Wakeup:
    """Why a stage's wait ended (a named sentinel)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Wakeup({self.name})"


WOKEN = Wakeup("woken")


def wake(waiter: asyncio.Future[object]) -> None:
    """Resolve a stage's pending wait (new input, or the output became writable)."""
    if not waiter.done():
        waiter.set_result(WOKEN)


class FlowAccount(Protocol):
    """Who counts the bytes queued on a link (to pause reading when too many wait)."""

    loop: asyncio.AbstractEventLoop
    rng: random.Random

    def add_buffered(self, delta: int) -> None:
        """Account ``delta`` more (or fewer, if negative) queued bytes."""


class Outlet(Protocol):
    """Where a stage's output goes: the next stage's :class:`Channel`, or the sink."""

    def put(self, item: Item) -> None:
        """Accept an item now (never waits)."""

    def blocked(self) -> bool:
        """True while the outlet wants no more data (a sink whose socket is full)."""

    def add_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Call :func:`wake` on ``waiter`` when no longer blocked."""

    def remove_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Forget a waiter added with :meth:`add_waiter`."""


class Channel:
    """A stage's input queue; it never refuses an item (the link bounds the total).

    ``bypass`` is set by a stage that forwards unchanged (a noop toxic, or a toxic
    whose toxicity roll failed): a chunk that would be alone in the queue, with the
    bypass outlet not blocked, goes straight there, saving a task switch per chunk.
    The end of the stream always queues, so the stage sees it and closes.
    """

    __slots__ = ("_account", "_items", "bypass", "discarding", "waiter")

    def __init__(self, account: FlowAccount) -> None:
        self._items: deque[Item] = deque()
        self._account = account
        self.waiter: asyncio.Future[object] | None = None
        self.discarding = False
        self.bypass: Outlet | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        """Queue an item and wake the stage waiting for input (or bypass the queue)."""
        if self.discarding:
            return
        bypass = self.bypass
        if bypass is not None and not self._items and type(item) is Chunk and not bypass.blocked():
            bypass.put(item)
            return
        self._items.append(item)
        if isinstance(item, Chunk):
            self._account.add_buffered(len(item.data))
        if self.waiter is not None:
            wake(self.waiter)

    def blocked(self) -> bool:
        """A channel always accepts; see :meth:`put`."""
        return False

    def add_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Never needed: a channel is never blocked."""

    def remove_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Never needed: a channel is never blocked."""

    def front(self) -> Item:
        """The oldest item (the queue must not be empty)."""
        return self._items[0]

    def pop(self) -> Item:
        """Remove and return the oldest item."""
        item = self._items.popleft()
        if isinstance(item, Chunk):
            self._account.add_buffered(-len(item.data))
        return item

    def split_front(self, size: int) -> Chunk:
        """Remove the first ``size`` bytes of the oldest chunk and return them."""
        front = self._items[0]
        assert isinstance(front, Chunk)
        data = memoryview(front.data)
        front.data = data[size:]
        self._account.add_buffered(-size)
        return Chunk(data[:size], front.timestamp)

    def drain(self) -> list[Item]:
        """Remove and return every queued item, oldest first."""
        items = []
        while self._items:
            items.append(self.pop())
        return items
