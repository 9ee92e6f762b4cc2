"""``bandwidth``: limits a stream to ``rate`` KB/s (1 KB = 1000 bytes).

Each chunk is held for ``len / rate`` ms; chunks bigger than 100 ms worth of data are
sent in 100 ms slices, so a slow rate trickles instead of stalling and bursting. The
timer's overshoot is carried over to the next chunk, which keeps the average exact.
A ``rate`` of 0 stalls the stream, as in Toxiproxy; a negative rate (which crashes
Toxiproxy on the first chunk) stalls it too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.channel import Chunk
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["BandwidthToxic"]

_SLICE_S = 0.1


@dataclasses.dataclass(frozen=True)
class BandwidthToxic(Toxic):
    """Throttle to ``rate`` KB/s."""

    type_name = "bandwidth"
    go_struct = "BandwidthToxic"

    rate: int = attribute()

    async def pipe(self, stage: Stage) -> None:
        """Delay chunks so that bytes leave at ``rate`` KB/s."""
        if self.rate <= 0:
            await self._stall(stage)
            return
        slice_bytes = self.rate * 100  # what 100 ms carries
        owed_s = 0.0
        while True:
            item = await stage.next()
            if not isinstance(item, Chunk):
                stage.close()
                return
            owed_s += len(item.data) / (self.rate * 1000)
            while len(item.data) > slice_bytes:
                await stage.sleep(_SLICE_S)
                await stage.forward(slice_bytes)  # ``item`` keeps the rest
                owed_s -= _SLICE_S
            started = stage.now()
            await stage.sleep(owed_s)
            owed_s -= stage.now() - started
            await stage.forward()

    @staticmethod
    async def _stall(stage: Stage) -> None:
        item = await stage.next()
        if not isinstance(item, Chunk):
            stage.close()
            return
        await stage.wait_for_interrupt()
