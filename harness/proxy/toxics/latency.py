"""``latency``: delays every chunk by ``latency`` ± ``jitter`` milliseconds.

The delay counts from when the chunk was read, not from when the previous chunk was
delivered: pipelined chunks are held side by side, so ten requests sent at once under
a 100 ms toxic all arrive about 100 ms later, not one second later. Chunks keep their
order even when jitter would let a later one overtake. The jitter is drawn per chunk,
uniformly from [-jitter, jitter).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.channel import Chunk
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["LatencyToxic"]


@dataclasses.dataclass(frozen=True)
class LatencyToxic(Toxic):
    """Delay each chunk; attributes in milliseconds."""

    type_name = "latency"
    go_struct = "LatencyToxic"

    latency: int = attribute()
    jitter: int = attribute()

    async def pipe(self, stage: Stage) -> None:
        """Hold each chunk until its read time plus the delay, then forward it."""
        while True:
            item = await stage.next()
            if not isinstance(item, Chunk):  # end of stream
                stage.close()
                return
            due = item.timestamp + self._delay_ms(stage) / 1000.0
            await stage.sleep_until(due)
            # Later toxics on the chain measure their delay from this delivery time.
            item.timestamp = max(item.timestamp, due)
            await stage.forward()

    def _delay_ms(self, stage: Stage) -> int:
        if self.jitter > 0:
            return self.latency + stage.rng.randrange(-self.jitter, self.jitter)
        return self.latency
