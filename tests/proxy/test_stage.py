"""A pass-through stage on its own, with in-memory outlets: the queue bypass's rules."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from harness.proxy.channel import EOF, Chunk, Item, wake
from harness.proxy.stage import Stage
from harness.proxy.toxics import LatencyToxic, NoopToxic, Toxic


@dataclass
class Account:
    """The link's side of a stage: a loop, a random source, a count of queued bytes."""

    loop: asyncio.AbstractEventLoop
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    buffered: int = 0

    def add_buffered(self, delta: int) -> None:
        self.buffered += delta


@dataclass
class Entry:
    """A configured toxic."""

    toxic: Toxic
    toxicity: float = 1.0


@dataclass
class Collector:
    """An outlet that keeps what it is given and can be blocked like a full socket."""

    items: list[Item] = field(default_factory=list)
    is_blocked: bool = False
    waiters: list[asyncio.Future[object]] = field(default_factory=list)

    def put(self, item: Item) -> None:
        self.items.append(item)

    def blocked(self) -> bool:
        return self.is_blocked

    def add_waiter(self, waiter: asyncio.Future[object]) -> None:
        self.waiters.append(waiter)

    def remove_waiter(self, waiter: asyncio.Future[object]) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)

    def unblock(self) -> None:
        self.is_blocked = False
        for waiter in self.waiters:
            wake(waiter)

    def data(self) -> list[bytes | str]:
        return [bytes(i.data) if isinstance(i, Chunk) else repr(i) for i in self.items]


def run(scenario: Callable[[Account], Awaitable[None]]) -> None:
    """Run ``scenario`` on a fresh event loop."""

    async def main() -> None:
        await scenario(Account(asyncio.get_running_loop()))

    asyncio.run(main())


async def settle() -> None:
    """Let every ready task run (a few loop iterations)."""
    for _ in range(5):
        await asyncio.sleep(0)


def chunk(data: bytes) -> Chunk:
    return Chunk(data, 0.0)


def test_an_idle_pass_through_hands_chunks_over_without_its_task() -> None:
    async def scenario(account: Account) -> None:
        out = Collector()
        stage = Stage(account, Entry(NoopToxic()), out)
        stage.start()
        await settle()
        stage.input.put(chunk(b"a"))
        assert out.data() == [b"a"]  # at once, before any task runs
        assert account.buffered == 0
        stage.cancel()

    run(scenario)


def test_a_blocked_output_queues_and_order_is_kept() -> None:
    async def scenario(account: Account) -> None:
        out = Collector()
        stage = Stage(account, Entry(NoopToxic()), out)
        stage.start()
        await settle()
        out.is_blocked = True
        stage.input.put(chunk(b"b"))
        stage.input.put(chunk(b"c"))
        out.is_blocked = False  # not blocked any more, but "b" and "c" still wait
        stage.input.put(chunk(b"d"))
        assert out.data() == []
        out.unblock()
        await settle()
        stage.input.put(chunk(b"e"))
        assert out.data() == [b"b", b"c", b"d", b"e"]
        assert account.buffered == 0
        stage.cancel()

    run(scenario)


def test_a_chunk_put_right_after_a_rewire_goes_to_the_new_output() -> None:
    async def scenario(account: Account) -> None:
        old, new = Collector(), Collector()
        stage = Stage(account, Entry(NoopToxic()), old)
        stage.start()
        await settle()
        stage.output = new  # what Link does when a toxic is appended behind this one
        stage.interrupt()
        stage.input.put(chunk(b"late"))  # before the stage's task has restarted
        await settle()
        assert (old.data(), new.data()) == ([], [b"late"])
        stage.cancel()

    run(scenario)


def test_the_end_of_the_stream_is_queued_so_the_stage_closes() -> None:
    async def scenario(account: Account) -> None:
        out = Collector()
        stage = Stage(account, Entry(NoopToxic()), out)
        stage.start()
        await settle()
        stage.input.put(chunk(b"last"))
        stage.input.put(EOF)
        await settle()
        assert out.data() == [b"last", "EOF"]
        assert stage.closed
        stage.input.put(chunk(b"after"))  # a closed stage drops what still comes
        assert out.data() == [b"last", "EOF"]

    run(scenario)


def test_a_failed_toxicity_roll_passes_through_the_same_way() -> None:
    async def scenario(account: Account) -> None:
        out = Collector()
        stage = Stage(account, Entry(LatencyToxic(latency=10_000), toxicity=0.0), out)
        stage.start()
        await settle()
        stage.input.put(chunk(b"fast"))
        assert out.data() == [b"fast"]
        stage.cancel()

    run(scenario)
