"""``slicer``: cuts each chunk into pieces of about ``average_size`` bytes.

Pieces vary by up to ``size_variation`` bytes and are sent ``delay`` microseconds
apart; the data arrives intact, only fragmented, which exercises a client's framing.
Chunks are halved (with a random shift) until each piece is within
``average_size + size_variation``, so there is no bias towards a short first or last
piece. Unlike Toxiproxy, a zero ``size_variation`` or ``average_size`` does not crash:
pieces are then at least one byte.
"""

from __future__ import annotations

import dataclasses
import random
from typing import TYPE_CHECKING

from harness.proxy.channel import Chunk
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["SlicerToxic"]


@dataclasses.dataclass(frozen=True)
class SlicerToxic(Toxic):
    """Fragment chunks; ``delay`` is in microseconds."""

    type_name = "slicer"
    go_struct = "SlicerToxic"

    average_size: int = attribute("int")
    size_variation: int = attribute("int")
    delay: int = attribute("int")

    async def pipe(self, stage: Stage) -> None:
        """Forward each chunk piece by piece."""
        while True:
            item = await stage.next()
            if not isinstance(item, Chunk):
                stage.close()
                return
            for size in self.piece_sizes(len(item.data), stage.rng):
                await stage.forward(size)
                await stage.sleep(self.delay / 1_000_000)

    def piece_sizes(self, total: int, rng: random.Random) -> list[int]:
        """Sizes of the pieces a chunk of ``total`` bytes is cut into (summing to it)."""
        sizes: list[int] = []
        pending = [total]
        while pending:  # depth-first, left piece first, so sizes come out in order
            size = pending.pop()
            if size - self.average_size <= self.size_variation or size <= 1:
                sizes.append(size)
                continue
            left = size // 2
            if self.size_variation > 0:
                left += rng.randrange(self.size_variation * 2) - self.size_variation
            left = min(max(left, 1), size - 1)
            pending.extend((size - left, left))
        return sizes
