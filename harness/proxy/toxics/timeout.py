"""``timeout``: drops all data and closes the connection after ``timeout`` ms.

With ``timeout`` 0 the connection is never closed by the toxic: data is swallowed
until the toxic is removed, and removing it closes the connection (Toxiproxy's
cleanup of a timeout toxic), so a client never sees a held connection come back to
life. As in Toxiproxy the clock starts when the toxic starts on the link and starts
again with every chunk that arrives, so the close comes ``timeout`` ms after the link
last carried data.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.channel import EOF
from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["TimeoutToxic"]


@dataclasses.dataclass(frozen=True)
class TimeoutToxic(Toxic):
    """Swallow data; close after ``timeout`` ms of it (never for 0)."""

    type_name = "timeout"
    go_struct = "TimeoutToxic"
    closes_on_remove = True

    timeout: int = attribute()

    async def pipe(self, stage: Stage) -> None:
        """Drop every chunk; close on EOF or when the clock runs out."""
        while True:
            deadline = stage.now() + self.timeout / 1000.0 if self.timeout > 0 else None
            item = await stage.next(deadline)
            if item is None or item is EOF:
                stage.close()
                return
            stage.drop()
