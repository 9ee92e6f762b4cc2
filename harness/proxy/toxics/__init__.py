"""The toxic types, registered under the names the Toxiproxy API uses.

One module per toxic; each defines a :class:`~harness.proxy.toxics.base.Toxic` subclass.
("down" is not a toxic: it is ``enabled: false`` on the proxy.)
"""

from __future__ import annotations

from harness.proxy.toxics.bandwidth import BandwidthToxic
from harness.proxy.toxics.base import Toxic
from harness.proxy.toxics.latency import LatencyToxic
from harness.proxy.toxics.limit_data import LimitDataToxic
from harness.proxy.toxics.noop import NoopToxic
from harness.proxy.toxics.reset_peer import ResetPeerToxic
from harness.proxy.toxics.slicer import SlicerToxic
from harness.proxy.toxics.slow_close import SlowCloseToxic
from harness.proxy.toxics.timeout import TimeoutToxic

__all__ = ["TOXIC_TYPES", "Toxic", "toxic_type"]

#: Every toxic type by its API name.
TOXIC_TYPES: dict[str, type[Toxic]] = {
    cls.type_name: cls
    for cls in (
        LatencyToxic,
        BandwidthToxic,
        SlowCloseToxic,
        TimeoutToxic,
        ResetPeerToxic,
        SlicerToxic,
        LimitDataToxic,
        NoopToxic,
    )
}


def toxic_type(name: str) -> type[Toxic] | None:
    """The toxic type registered under ``name`` (case-sensitive), or None."""
    return TOXIC_TYPES.get(name)
