"""``limit_data``: closes the connection once ``bytes`` bytes have passed.

The budget is per connection and per direction, and survives updates of the toxic.
The chunk that crosses the limit is cut to fit; with ``bytes`` 0 the first chunk
closes the connection.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.channel import Chunk
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["LimitDataToxic"]


class _Transmitted:
    """Bytes already let through on one link (the toxic's per-link state)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclasses.dataclass(frozen=True)
class LimitDataToxic(Toxic):
    """Let ``bytes`` bytes through, then close."""

    type_name = "limit_data"
    go_struct = "LimitDataToxic"

    bytes: int = attribute()

    def new_state(self) -> object:
        """The count of bytes sent so far on the link."""
        return _Transmitted()

    async def pipe(self, stage: Stage) -> None:
        """Forward up to the budget, then close."""
        sent = stage.state
        assert isinstance(sent, _Transmitted)
        while True:
            item = await stage.next()
            if not isinstance(item, Chunk):
                stage.close()
                return
            allowed = min(max(self.bytes - sent.count, 0), len(item.data))
            if allowed > 0:
                await stage.forward(allowed)
                sent.count += allowed
            if self.bytes - sent.count <= 0:
                stage.close()
                return
