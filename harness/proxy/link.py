"""A link: one direction of one proxied connection, as a chain of toxic stages.

::

    client --read--> Link "upstream"   --[upstream toxics]-->   Sink --> upstream server
    client <-- Sink <--[downstream toxics]-- Link "downstream" <--read-- upstream server

With no toxic on the stream a link is a straight copy: each chunk read is written to
the other socket at once, and TCP flow control is passed through (reading pauses while
the destination's write buffer is full). With toxics, chunks queue in the stages
(:mod:`harness.proxy.stage`); reading pauses while more than :data:`HIGH_WATER` bytes
wait on the link and resumes below :data:`LOW_WATER`, so a slow toxic or a peer that
does not read holds a bounded amount of memory.

Toxics added, updated or removed through the API reach open links here: the stages
involved are interrupted and restart, rolling their toxicity again, as Toxiproxy does.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.proxy.channel import EOF, Chunk, Item, wake
from harness.proxy.metrics import ByteCounter
from harness.proxy.stage import Stage

if TYPE_CHECKING:
    from harness.proxy.toxicset import ToxicEntry

__all__ = ["HIGH_WATER", "LOW_WATER", "Link", "Sink"]

logger = logging.getLogger(__name__)

#: Pause reading the source when this many bytes wait in a link's toxics...
HIGH_WATER = 4 * 1024 * 1024
#: ...and resume when no more than this many are left.
LOW_WATER = 1024 * 1024


class Sink:
    """The writing end of a link: the destination socket's transport."""

    def __init__(self, transport: asyncio.Transport, sent: ByteCounter) -> None:
        self.transport = transport
        self.closed = False
        self._sent = sent
        self._paused = False
        self._waiters: list[asyncio.Future[object]] = []
        self.on_eof: Callable[[], None] = lambda: None
        self.on_flow_change: Callable[[], None] = lambda: None

    def write(self, data: bytes | memoryview) -> None:
        """Write bytes to the destination (dropped once the sink is closed)."""
        if not self.closed:
            self.transport.write(data)
            self._sent.value += len(data)

    def put(self, item: Item) -> None:
        """Write a chunk, or close the destination on EOF."""
        if isinstance(item, Chunk):
            self.write(item.data)
        elif not self.closed:
            self.closed = True
            self._wake_all()
            self.on_eof()

    def blocked(self) -> bool:
        """True while the destination's write buffer is above its high-water mark."""
        return self._paused and not self.closed

    def add_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Wake ``waiter`` when the destination can take data again."""
        self._waiters.append(waiter)

    def remove_waiter(self, waiter: asyncio.Future[object]) -> None:
        """Forget ``waiter``."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def pause(self) -> None:
        """The destination's buffer is full (from ``Protocol.pause_writing``)."""
        self._paused = True
        self.on_flow_change()

    def resume(self) -> None:
        """The destination drained (from ``Protocol.resume_writing``)."""
        self._paused = False
        self._wake_all()
        self.on_flow_change()

    def lost(self) -> None:
        """The destination socket is gone: drop whatever comes next."""
        self.closed = True
        self._wake_all()

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            wake(waiter)


class Link:
    """One direction of a connection: reads from ``source``, runs toxics, writes to ``sink``."""

    def __init__(
        self,
        direction: str,
        source: asyncio.Transport,
        sink: Sink,
        received: ByteCounter,
        rng: random.Random,
    ) -> None:
        self.direction = direction
        self.loop = asyncio.get_running_loop()
        self.rng = rng
        self.sink = sink
        self.stages: list[Stage] = []
        self._source = source
        self._received = received
        self._buffered = 0
        self._source_paused = False
        self._eof_fed = False
        sink.on_flow_change = self._update_flow

    # ---------------------------------------------------------------- data path

    def feed(self, data: bytes) -> None:
        """Take bytes read from the source."""
        if self._eof_fed:
            return
        self._received.value += len(data)
        if self.stages:
            self.stages[0].input.put(Chunk(data, time.monotonic()))
        else:
            self.sink.write(data)

    def feed_eof(self) -> None:
        """The source ended (EOF, error, or closed by the proxy)."""
        if self._eof_fed:
            return
        self._eof_fed = True
        if self.stages:
            self.stages[0].input.put(EOF)
        else:
            self.sink.put(EOF)

    # ---------------------------------------------------------------- flow control

    def add_buffered(self, delta: int) -> None:
        """Count bytes entering (positive) or leaving (negative) the stages."""
        self._buffered += delta
        if (delta > 0 and not self._source_paused and self._buffered > HIGH_WATER) or (
            delta < 0 and self._source_paused and self._buffered <= LOW_WATER
        ):
            self._update_flow()

    def _update_flow(self) -> None:
        limit = LOW_WATER if self._source_paused else HIGH_WATER
        passthrough_blocked = not self.stages and self.sink.blocked()
        hold = self._buffered > limit or passthrough_blocked
        if hold == self._source_paused:
            return
        self._source_paused = hold
        try:
            if hold:
                self._source.pause_reading()
            else:
                self._source.resume_reading()
        except (RuntimeError, AttributeError):  # the source is closing: nothing to do
            logger.debug("flow control on a closing %s source", self.direction)

    # ---------------------------------------------------------------- the chain

    def start(self, entries: list[ToxicEntry]) -> None:
        """Build the chain for the toxics present when the connection is set up."""
        for entry in entries:
            previous = self.stages[-1] if self.stages else None
            stage = self._append(entry)
            if previous is not None:
                # Its task has not run yet, so it simply starts with this output.
                previous.output = stage.input

    def add_toxic(self, entry: ToxicEntry) -> None:
        """Append a toxic to the chain of this open link."""
        previous = self.stages[-1] if self.stages else None
        stage = self._append(entry)
        if previous is not None:
            # The previous last stage now feeds the new one; restart it (a new roll).
            previous.output = stage.input
            previous.interrupt()
        self._update_flow()

    def update_toxic(self, entry: ToxicEntry) -> None:
        """Restart the stage of an updated toxic so it uses the new attributes."""
        for stage in self.stages:
            if stage.entry is entry:
                stage.interrupt()

    def remove_toxic(self, entry: ToxicEntry) -> None:
        """Take a toxic out of the chain, passing on whatever it still holds."""
        index = next((i for i, stage in enumerate(self.stages) if stage.entry is entry), None)
        if index is None:
            return
        stage = self.stages.pop(index)
        stage.removed = True
        stage.interrupt()
        if entry.toxic.closes_on_remove:
            stage.close()
        else:
            for item in stage.input.drain():
                stage.output.put(item)
        if index > 0:
            previous = self.stages[index - 1]
            previous.output = stage.output
            previous.interrupt()
        self._update_flow()

    def close(self) -> None:
        """Stop every stage (the connection is finished)."""
        for stage in self.stages:
            stage.cancel()

    def _append(self, entry: ToxicEntry) -> Stage:
        stage = Stage(self, entry, self.sink)
        self.stages.append(stage)
        stage.start()
        return stage
