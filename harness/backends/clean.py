"""``harness clean``: remove what runs left in Docker, found by the harness's labels.

A run removes its own containers when it ends, Ctrl-C and errors included; a harness
killed outright (SIGKILL, a lost machine) cannot, so this finds every container,
volume and network labelled ``concert-chaos.managed=true`` (of one run, if asked) and
removes it. Nothing without the label is touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from docker.errors import DockerException, NotFound

from harness.backends.docker_engine import RUN_LABEL, connect, label_filter
from harness.errors import StackError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Removed:
    """One Docker object ``clean`` removed."""

    kind: str  # "container", "volume" or "network"
    name: str
    run_id: str


def clean(run_id: str | None = None, client: Any = None) -> list[Removed]:
    """Remove every labelled container, volume and network (of ``run_id`` only, if given)."""
    client = connect() if client is None else client
    filters = label_filter(run_id)
    removed: list[Removed] = []
    try:
        # Containers first: a volume or network in use cannot be removed.
        for container in client.containers.list(all=True, filters=filters):
            if _remove(container, force=True, v=True):
                removed.append(Removed("container", container.name, _run_of(container)))
        for volume in client.volumes.list(filters=filters):
            if _remove(volume, force=True):
                removed.append(Removed("volume", volume.name, _run_of(volume)))
        for network in client.networks.list(filters=filters):
            if _remove(network):
                removed.append(Removed("network", network.name, _run_of(network)))
    except DockerException as exc:
        raise StackError(f"cannot list the harness's Docker objects: {exc}") from exc
    return removed


def _remove(obj: Any, **options: Any) -> bool:
    try:
        obj.remove(**options)
    except NotFound:
        return False  # gone already: a run's own teardown got there first
    except DockerException as exc:
        raise StackError(f"cannot remove {obj.name}: {exc}") from exc
    log.debug("removed %s", obj.name)
    return True


def _run_of(obj: Any) -> str:
    labels = (obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels")) or {}
    return str(labels.get(RUN_LABEL, "?"))
