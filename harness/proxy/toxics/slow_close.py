"""``slow_close``: delays the close of a stream by ``delay`` ms after its source ends.

Data flows unchanged; only the end of the stream (and so the close of the
connection) is held back.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.channel import Chunk
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["SlowCloseToxic"]


@dataclasses.dataclass(frozen=True)
class SlowCloseToxic(Toxic):
    """Hold the end of the stream for ``delay`` ms."""

    type_name = "slow_close"
    go_struct = "SlowCloserToxic"

    delay: int = attribute()

    async def pipe(self, stage: Stage) -> None:
        """Forward data; on EOF wait ``delay`` ms, then close."""
        while True:
            item = await stage.next()
            if isinstance(item, Chunk):
                await stage.forward()
                continue
            await stage.sleep(self.delay / 1000.0)
            stage.close()
            return
