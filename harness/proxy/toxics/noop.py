"""``noop``: passes data through unchanged (useful to test a client's toxic handling)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from harness.proxy.toxics.base import Toxic

if TYPE_CHECKING:
    from harness.proxy.stage import Stage

__all__ = ["NoopToxic"]


@dataclasses.dataclass(frozen=True)
class NoopToxic(Toxic):
    """Forward every chunk as it comes; no attributes."""

    type_name = "noop"
    go_struct = "NoopToxic"

    async def pipe(self, stage: Stage) -> None:
        """Forward everything."""
        await stage.pass_through()
