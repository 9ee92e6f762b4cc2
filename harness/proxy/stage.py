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
import logging
import math
import random
import time
from typing import Protocol

from harness.proxy.channel import EOF, Channel, Chunk, FlowAccount, Item, Outlet, Wakeup

__all__ = ["Interrupted", "PipeToxic", "Stage", "StageEntry"]

logger = logging.getLogger(__name__)

# The longest single timer we arm; a toxic asking for more (latency of 2**62 ms) simply
# waits again, which avoids overflowing the event loop's timer arithmetic.
_MAX_TIMER_S = 86_400.0


class Interrupted(Exception):
    """Raised inside a toxic's ``pipe`` when the chain changes; the stage restarts it."""


_TIMER, _INTERRUPT = Wakeup("timer"), Wakeup("interrupt")


def _timer_delay(deadline: float) -> float:
    """Seconds until ``deadline``, rounded *up* to the millisecond.

    Event loops keep time in milliseconds (uvloop caches it per iteration), so an
    unrounded timer can fire up to a millisecond early; a toxic must never deliver
    before its delay. Waits longer than a day are cut (the caller waits again).
    """
    remaining = deadline - time.monotonic()
    return min(max(math.ceil(remaining * 1000.0) / 1000.0, 0.0), _MAX_TIMER_S)


def _fire(waiter: asyncio.Future[object], reason: Wakeup) -> None:
    if not waiter.done():
        waiter.set_result(reason)


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
        self.input.bypass = None
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def interrupt(self) -> None:
        """Make the toxic stop at its current wait and start again (rolling toxicity)."""
        if self.closed:
            return
        # The chain is being rewired: from now on chunks queue until the stage restarts.
        self.input.bypass = None
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
            except Exception:
                # A broken toxic must not leave the connection hanging: end it here.
                logger.exception("toxic %r failed; closing its connection", entry)
                self.close()
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
        """Forward everything unchanged (a noop toxic, or one whose roll failed).

        While this runs, the input channel hands chunks straight to the output when
        nothing is queued (see :attr:`Channel.bypass`), so an idle pass-through stage
        costs no task switch per chunk; what does queue (the output was blocked, or the
        end of the stream) is moved on here, in order.
        """
        try:
            while True:
                self.input.bypass = self.output
                item = await self.next()
                if item is EOF:
                    self.close()
                    return
                await self.forward()
        finally:
            self.input.bypass = None

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
