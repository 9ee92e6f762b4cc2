"""``reset_peer``: on the first chunk, waits ``timeout`` ms and closes the connection.

If the toxic exists when a connection is set up, both of its sockets get
``SO_LINGER`` 0, so closing them sends RST and the peers see ``ECONNRESET``; added to
an open connection it closes it normally (FIN). The chunk that triggers it is dropped,
and the wait cannot be interrupted (as in Toxiproxy, where removing the toxic meanwhile
still lets the close happen).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.toxics.base import Toxic, attribute

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["ResetPeerToxic"]


@dataclasses.dataclass(frozen=True)
class ResetPeerToxic(Toxic):
    """Close (with RST when set up early) ``timeout`` ms after the first data."""

    type_name = "reset_peer"
    go_struct = "ResetToxic"
    resets_on_close = True

    timeout: int = attribute()

    async def pipe(self, stage: Stage) -> None:
        """Wait for data (or EOF), swallow it, wait, close."""
        await stage.next()
        stage.drop()
        await stage.sleep(self.timeout / 1000.0, interruptible=False)
        stage.close()
