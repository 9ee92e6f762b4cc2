"""The fault timeline: apply each fault at its start, remove it at its end, always roll back.

Times are offsets from the start of load. A background thread waits for each moment
on an Event (so stopping is immediate), acts through the Toxiproxy API and appends
what it did, with wall-clock timestamps, to ``faults.jsonl`` in the run's folder.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.errors import FaultError, HarnessError
from harness.experiment.model import Fault, FaultType
from harness.faults.replica import ReplicaFaults
from harness.faults.toxiproxy import ToxiproxyClient
from harness.faults.verify import Evidence, FaultVerifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaultEvent:
    """One thing the timeline did (or failed to do)."""

    t: float
    offset: float
    fault: str
    action: str  # "apply" | "update" | "remove"
    ok: bool
    detail: str = ""
    evidence: dict[str, Any] | None = None


def toxic_json(fault: Fault) -> dict[str, Any]:
    """The Toxiproxy JSON body that creates ``fault``'s toxic."""
    return {
        "name": fault.label,
        "type": fault.type.value,
        "stream": fault.stream.value,
        "toxicity": fault.toxicity,
        "attributes": dict(fault.attributes),
    }


class FaultTimeline:
    """Runs a list of faults against a Toxiproxy server on a schedule."""

    def __init__(
        self,
        faults: list[Fault],
        client: ToxiproxyClient,
        events_path: Path,
        verifier: FaultVerifier | None = None,
        replicas: ReplicaFaults | None = None,
    ) -> None:
        self.faults = sorted(faults, key=lambda f: f.at)
        self.client = client
        self.verifier = verifier
        self.replicas = replicas
        self._bytes_at_apply: dict[str, int | None] = {}
        self.events_path = events_path
        self.events: list[FaultEvent] = []
        self._active: dict[str, Fault] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._lock = threading.Lock()

    def start(self, t0: float) -> None:
        """Begin the schedule; offsets count from wall-clock time ``t0``."""
        self._t0 = t0
        if self.verifier is not None:
            self.verifier.take_baseline(self._proxies())
        self._thread = threading.Thread(target=self._run, name="fault-timeline", daemon=True)
        self._thread.start()

    def _schedule(self) -> list[tuple[float, str, Fault]]:
        steps = [(f.at, "apply", f) for f in self.faults]
        steps += [(f.end, "remove", f) for f in self.faults]
        for fault in self.faults:
            if fault.ramp is not None:
                ticks = math.ceil(fault.duration / fault.ramp.every)
                steps += [
                    (fault.at + k * fault.ramp.every, "update", fault) for k in range(1, ticks)
                ]
        # At the same instant: removals, then updates, then applications.
        order = {"remove": 0, "update": 1, "apply": 2}
        return sorted(steps, key=lambda s: (s[0], order[s[1]]))

    def _run(self) -> None:
        for offset, action, fault in self._schedule():
            delay = self._t0 + offset - time.time()
            if self._stop.wait(max(delay, 0.0)):
                return
            try:
                if action == "apply":
                    self._apply(fault)
                elif action == "update":
                    self._update(fault, offset - fault.at)
                else:
                    self._remove(fault)
            except Exception as exc:
                # The schedule must go on whatever one step raised; stop() still rolls
                # back everything that was applied.
                log.exception("fault %s: %s failed unexpectedly", fault.label, action)
                self._record(fault, action, ok=False, detail=f"unexpected error: {exc!r}")

    def _proxies(self) -> list[str]:
        return sorted({f.proxy for f in self.faults if not f.on_replicas})

    def _apply(self, fault: Fault) -> None:
        if fault.on_replicas:
            self._apply_to_replicas(fault)
            return
        try:
            if fault.type is FaultType.down:
                self.client.set_enabled(fault.proxy, False)
            else:
                self.client.add_toxic(fault.proxy, toxic_json(fault))
        except FaultError as exc:
            log.error(
                "fault %s could not be applied: %s; the run goes on without it", fault.label, exc
            )
            self._record(fault, "apply", ok=False, detail=str(exc))
            return
        with self._lock:
            self._active[fault.label] = fault
        log.info("fault %s applied: %s on %s", fault.label, fault.type.value, fault.proxy)
        evidence = None
        if self.verifier is not None:
            self._bytes_at_apply[fault.label] = self.verifier.bytes_through(fault.proxy)
            seen = self.verifier.verify(fault)
            evidence = asdict(seen)
            if seen.ok:
                log.info("fault %s took effect (%s): %s", fault.label, seen.method, seen.detail)
            else:
                log.warning(
                    "fault %s applied but NOT seen to take effect (%s): %s",
                    fault.label,
                    seen.method,
                    seen.detail,
                )
        self._record(
            fault, "apply", ok=True, detail=json.dumps(toxic_json(fault)), evidence=evidence
        )

    def _apply_to_replicas(self, fault: Fault) -> None:
        if self.replicas is None:
            self._record(fault, "apply", ok=False, detail="this stack has no replica control")
            return
        try:
            targets, seen = self.replicas.apply(fault)
        except HarnessError as exc:
            log.error("fault %s could not be applied: %s", fault.label, exc)
            self._record(fault, "apply", ok=False, detail=str(exc))
            return
        with self._lock:
            self._active[fault.label] = fault
        log.info("fault %s applied: %s %s", fault.label, fault.type.value, ", ".join(targets))
        self._record(
            fault, "apply", ok=True, detail=json.dumps({"replicas": targets}), evidence=asdict(seen)
        )

    def _update(self, fault: Fault, elapsed: float) -> None:
        with self._lock:
            if fault.label not in self._active:
                return
        attributes = fault.attributes_at(elapsed)
        try:
            self.client.update_toxic(fault.proxy, fault.label, attributes)
        except FaultError as exc:
            log.error("ramp of fault %s could not be updated: %s", fault.label, exc)
            self._record(fault, "update", ok=False, detail=str(exc))
            return
        log.info("fault %s ramped to %s", fault.label, attributes)
        self._record(fault, "update", ok=True, detail=json.dumps(attributes))

    def _remove(self, fault: Fault) -> None:
        with self._lock:
            if self._active.pop(fault.label, None) is None:
                return
        if fault.on_replicas:
            assert self.replicas is not None
            try:
                targets = self.replicas.end(fault)
            except HarnessError as exc:
                self._record(fault, "remove", ok=False, detail=str(exc))
                return
            self._record(fault, "remove", ok=True, detail=json.dumps({"replicas": targets}))
            return
        try:
            if fault.type is FaultType.down:
                self.client.set_enabled(fault.proxy, True)
            else:
                self.client.remove_toxic(fault.proxy, fault.label)
        except FaultError as exc:
            log.error(
                "fault %s could not be removed: %s; rollback will reset the proxy", fault.label, exc
            )
            self._record(fault, "remove", ok=False, detail=str(exc))
            return
        log.info("fault %s removed", fault.label)
        self._record(fault, "remove", ok=True, evidence=self._traffic_evidence(fault))

    def _traffic_evidence(self, fault: Fault) -> dict[str, Any] | None:
        """Did the service send anything through the proxy while the fault was there?"""
        before = self._bytes_at_apply.get(fault.label)
        if self.verifier is None or before is None or fault.type is FaultType.down:
            return None  # a disabled proxy carries nothing by design
        after = self.verifier.bytes_through(fault.proxy)
        if after is None:
            return None
        moved = after - before
        return asdict(
            Evidence(
                moved > 0,
                "traffic",
                f"{moved} bytes through {fault.proxy} while the fault was in place",
            )
        )

    def _record(
        self,
        fault: Fault,
        action: str,
        *,
        ok: bool,
        detail: str = "",
        evidence: dict[str, Any] | None = None,
    ) -> None:
        now = time.time()
        event = FaultEvent(
            t=now,
            offset=now - self._t0,
            fault=fault.label,
            action=action,
            ok=ok,
            detail=detail,
            evidence=evidence,
        )
        with self._lock:
            self.events.append(event)
            with open(self.events_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(event)) + "\n")

    def stop(self) -> None:
        """Stop the schedule and remove every fault still in place. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self._lock:
            active = list(self._active.values())
        for fault in active:
            self._remove(fault)
        # Belt and braces: whatever happened above, leave no toxic and no proxy down on
        # the proxies this timeline touched. Not a server-wide /reset: a running
        # Toxiproxy may serve others too.
        for proxy in self._proxies():
            try:
                self.client.reset_proxy(proxy)
            except FaultError as exc:
                log.error("final reset of proxy %s failed: %s", proxy, exc)
