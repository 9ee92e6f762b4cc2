"""Faults on booking replicas: kill, stop, pause or restart some of them for a window.

Which replicas: the names given, or ``count`` (or ``percent``) of them chosen at random
with the run's seed, one by default (the blast radius). At the window's end a stopped
replica is started and a paused one resumed; a killed one is started if nothing (the
supervisor) brought it back already. Evidence that a kill, stop or pause took effect:
the replica's liveness endpoint stops answering.
"""

from __future__ import annotations

import logging
import math
import random
import time
from typing import Protocol

from harness.backends.processes import http_ok
from harness.experiment.model import REPLICA_ACTIONS, Fault, FaultType
from harness.faults.verify import Evidence

log = logging.getLogger(__name__)

GONE_WITHIN = 3.0


class Replicas(Protocol):
    """What a stack offers for replica faults."""

    def replica_urls(self) -> dict[str, str]:
        """Each replica's own address, by name."""

    def replica_action(self, name: str, action: str) -> None:
        """kill, stop, start, pause, resume or restart one replica."""


def choose_targets(fault: Fault, names: list[str], rng: random.Random) -> list[str]:
    """The replicas a fault hits."""
    if fault.replicas:
        return list(fault.replicas)
    if fault.percent is not None:
        count = max(1, math.ceil(len(names) * fault.percent / 100))
    else:
        count = fault.count or 1
    return sorted(rng.sample(names, min(count, len(names))))


class ReplicaFaults:
    """Applies and ends replica faults; remembers who was hit."""

    def __init__(self, replicas: Replicas, seed: int | None) -> None:
        self.replicas = replicas
        self.rng = random.Random(seed)
        self.targets: dict[str, list[str]] = {}

    def apply(self, fault: Fault) -> tuple[list[str], Evidence]:
        """Act on the chosen replicas; the targets and whether the fault was felt."""
        urls = self.replicas.replica_urls()
        targets = choose_targets(fault, list(urls), self.rng)
        start_action, _ = REPLICA_ACTIONS[fault.type]
        for name in targets:
            self.replicas.replica_action(name, start_action)
        self.targets[fault.label] = targets
        return targets, self._evidence(fault, targets, urls)

    def end(self, fault: Fault) -> list[str]:
        """Undo what can be undone at the end of the window; the replicas touched."""
        targets = self.targets.pop(fault.label, [])
        _, end_action = REPLICA_ACTIONS[fault.type]
        if end_action is not None:
            for name in targets:
                self.replicas.replica_action(name, end_action)
        return targets

    @staticmethod
    def _evidence(fault: Fault, targets: list[str], urls: dict[str, str]) -> Evidence:
        if fault.type is FaultType.restart:
            return Evidence(True, "api", f"restarted {', '.join(targets)}")
        deadline = time.monotonic() + GONE_WITHIN
        answering = set(targets)
        while answering and time.monotonic() < deadline:
            answering = {n for n in answering if http_ok(f"{urls[n]}/health/live", timeout=0.5)}
        if answering:
            return Evidence(False, "probe", f"still answering: {', '.join(sorted(answering))}")
        return Evidence(True, "probe", f"{', '.join(targets)} stopped answering /health/live")
