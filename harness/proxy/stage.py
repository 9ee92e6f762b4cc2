"""A stage: one toxic's place on a link, with its input queue and interruptible waits.

A link (one direction of one connection) is a chain of stages, one per toxic of that
stream, in creation order::

    socket -> [stage 1: latency] -> [stage 2: bandwidth] -> ... -> sink (other socket)

Each stage runs its toxic's ``pipe`` coroutine in a task, as Toxiproxy runs one
goroutine per toxic. The toxic looks at the first item of its input (:meth:`Stage.next`),
waits if it has to, then moves the item on with :meth:`Stage.forward` or discards it
with :meth:`Stage.drop`. An item stays in the input queue until it is moved, and moving
never waits half-way, so every chunk is always in exactly one queue. That makes chain
changes simple and safe: when a toxic is added, updated or removed, the stages involved
are *interrupted* (their current wait raises :class:`Interrupted`), the queues are
rewired synchronously, and each interrupted stage starts its toxic again. As in
Toxiproxy, every (re)start rolls the toxicity anew: the toxic runs when
``rng.random() < toxicity``, otherwise the stage passes data through unchanged.

The end of the stream is an item too (:data:`EOF`). A toxic that closes its stage
(:meth:`Stage.close`) discards what is queued and sends EOF on, which ends up closing
the connection when it reaches the sink.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from typing import Protocol

__all__ = [
    "EOF",
    "Channel",
    "Chunk",
    "EndOfStream",
    "FlowAccount",
    "Interrupted",
    "Item",
    "Outlet",
    "PipeToxic",
    "Stage",
    "StageEntry",
    "wake",
]

# The longest single timer we arm; a toxic asking for more (latency of 2**62 ms) simply
# waits again, which avoids overflowing the event loop's timer arithmetic.
_MAX_TIMER_S = 86_400.0


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


class Interrupted(Exception):
    """Raised inside a toxic's ``pipe`` when the chain changes; the stage restarts it."""


class _Wakeup:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_WOKEN, _TIMER, _INTERRUPT = _Wakeup("woken"), _Wakeup("timer"), _Wakeup("interrupt")


def _timer_delay(deadline: float) -> float:
    """Seconds until ``deadline``, rounded *up* to the millisecond.

    Event loops keep time in milliseconds (uvloop caches it per iteration), so an
    unrounded timer can fire up to a millisecond early; a toxic must never deliver
    before its delay. Waits longer than a day are cut (the caller waits again).
    """
    remaining = deadline - time.monotonic()
    return min(max(math.ceil(remaining * 1000.0) / 1000.0, 0.0), _MAX_TIMER_S)


def wake(waiter: asyncio.Future[object]) -> None:
    """Resolve a stage's pending wait (new input, or the output became writable)."""
    if not waiter.done():
        waiter.set_result(_WOKEN)


def _fire(waiter: asyncio.Future[object], reason: _Wakeup) -> None:
    if not waiter.done():
        waiter.set_result(reason)


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


class PipeToxic(Protocol):
    """What a stage needs from a toxic (see :mod:`harness.proxy.toxics.base`)."""

    def new_state(self) -> object:
        """Per-link state kept across restarts (e.g. bytes sent so far)."""

    async def pipe(self, stage: Stage) -> None:
        """Move data from the stage's input to its output until closed or interrupted."""


class StageEntry(Protocol):
    """The configured toxic a stage runs: read again at every (re)start."""

    @property
    def toxic(self) -> PipeToxic:
        """The toxic with its current attributes."""

    @property
    def toxicity(self) -> float:
        """The probability that the toxic runs, rolled at every (re)start."""


class Channel:
    """A stage's input queue; it never refuses an item (the link bounds the total)."""

    __slots__ = ("_account", "_items", "discarding", "waiter")

    def __init__(self, account: FlowAccount) -> None:
        self._items: deque[Item] = deque()
        self._account = account
        self.waiter: asyncio.Future[object] | None = None
        self.discarding = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Item) -> None:
        """Queue an item and wake the stage waiting for input."""
        if self.discarding:
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


class Stage:
    """One toxic on one link: its input queue, its output, and the task running it."""

    def __init__(self, account: FlowAccount, entry: StageEntry, output: Outlet) -> None:
        self.entry = entry
        self.input = Channel(account)
        self.output = output
        self.state = entry.toxic.new_state()
        self.closed = False
        self.removed = False
        self._account = account
        self._interrupted = False
        self._waiter: asyncio.Future[object] | None = None
        self._waiter_interruptible = True
        self._task: asyncio.Task[None] | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start running the toxic in a task of its own."""
        self._task = self._account.loop.create_task(self._run())

    def cancel(self) -> None:
        """Stop the task for good (the connection is gone)."""
        self.closed = True
        self.input.discarding = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def interrupt(self) -> None:
        """Make the toxic stop at its current wait and start again (rolling toxicity)."""
        if self.closed:
            return
        self._interrupted = True
        waiter = self._waiter
        if waiter is not None and self._waiter_interruptible:
            _fire(waiter, _INTERRUPT)

    async def _run(self) -> None:
        while not (self.closed or self.removed):
            self._interrupted = False
            entry = self.entry
            runs_toxic = self._account.rng.random() < entry.toxicity
            try:
                if runs_toxic:
                    await entry.toxic.pipe(self)
                else:
                    await self.pass_through()
            except Interrupted:
                continue
            return

    # ---------------------------------------------------------------- for toxics

    @property
    def rng(self) -> random.Random:
        """The server's random source (seeded with ``--seed``)."""
        return self._account.rng

    def now(self) -> float:
        """The monotonic clock, in seconds (the clock chunk timestamps use)."""
        return time.monotonic()

    async def next(self, deadline: float | None = None) -> Item | None:
        """Wait for the oldest input item and return it without removing it.

        Returns None if ``deadline`` (loop time) passes first.
        """
        while True:
            if self._interrupted:
                raise Interrupted
            if self.input:
                return self.input.front()
            if deadline is not None and self.now() >= deadline:
                return None
            await self._wait(deadline, on_input=True)

    async def sleep_until(self, when: float, interruptible: bool = True) -> None:
        """Wait until loop time ``when``; an interruption ends the wait early."""
        while self.now() < when:
            await self._wait(when, interruptible=interruptible)
        if interruptible and self._interrupted:
            raise Interrupted

    async def sleep(self, seconds: float, interruptible: bool = True) -> None:
        """Wait ``seconds`` (nothing for zero or less)."""
        if seconds > 0:
            await self.sleep_until(self.now() + seconds, interruptible)
        elif interruptible and self._interrupted:
            raise Interrupted

    async def wait_for_interrupt(self) -> None:
        """Hold the data until the chain changes (a stalled toxic)."""
        while True:
            await self._wait(None)

    async def forward(self, size: int | None = None) -> None:
        """Move the oldest item (or only its first ``size`` bytes) to the output.

        Waits while the output is blocked; the move itself never waits.
        """
        while self.output.blocked():
            await self._wait(None, on_output=True)
        front = self.input.front()
        if size is None or not isinstance(front, Chunk) or size >= len(front.data):
            self.output.put(self.input.pop())
        elif size > 0:
            self.output.put(self.input.split_front(size))

    def drop(self) -> None:
        """Discard the oldest item."""
        self.input.pop()

    def close(self) -> None:
        """End this direction here: drop what is queued and send EOF on."""
        if self.closed:
            return
        self.closed = True
        self.input.drain()
        self.input.discarding = True
        self.output.put(EOF)

    async def pass_through(self) -> None:
        """Forward everything unchanged (a noop toxic, or one whose roll failed)."""
        while True:
            item = await self.next()
            if item is EOF:
                self.close()
                return
            await self.forward()

    # ---------------------------------------------------------------- waiting

    async def _wait(
        self,
        deadline: float | None,
        *,
        on_input: bool = False,
        on_output: bool = False,
        interruptible: bool = True,
    ) -> object:
        if interruptible and self._interrupted:
            raise Interrupted
        loop = self._account.loop
        waiter: asyncio.Future[object] = loop.create_future()
        timer = None
        if deadline is not None:
            timer = loop.call_later(_timer_delay(deadline), _fire, waiter, _TIMER)
        output = self.output if on_output else None
        if on_input:
            self.input.waiter = waiter
        if output is not None:
            output.add_waiter(waiter)
        self._waiter, self._waiter_interruptible = waiter, interruptible
        try:
            result = await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()
            if on_input and self.input.waiter is waiter:
                self.input.waiter = None
            if output is not None:
                output.remove_waiter(waiter)
        if result is _INTERRUPT:
            raise Interrupted
        return result
