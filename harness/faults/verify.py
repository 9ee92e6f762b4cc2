"""Proof that a fault took effect, not just that the API accepted it.

Three kinds of evidence, strongest first:

- probe: a connection of our own through the proxy feels the fault (the added
  latency, a refused connect for ``down``, a reset or a silence for ``reset_peer`` and
  ``timeout``). The probe speaks the first message of PostgreSQL's protocol (an
  SSLRequest, answered with one byte) so it needs no credentials and changes nothing.
- api: the toxic reads back from the proxy's API with the attributes we set. Used for
  toxics a one-byte probe cannot see (bandwidth, slicer, slow_close, limit_data, noop)
  and when toxicity is too low for a handful of probes to be hit.
- traffic: the proxy's byte counters moved while the fault was in place, so the
  service was actually sending through it. Without traffic a fault proves nothing.

Toxicity is decided per connection (Toxiproxy's semantics), so for toxicity below 1
several probe connections are made and one felt effect is enough.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from harness.errors import FaultError
from harness.experiment.model import Fault, FaultType
from harness.faults.toxiproxy import ToxiproxyClient

log = logging.getLogger(__name__)

# PostgreSQL's SSLRequest: length 8, code 80877103. The server answers 'S' or 'N'.
SSL_REQUEST = struct.pack("!ii", 8, 80877103)
PROBE_TIMEOUT = 2.0
# Below this toxicity a few probes would likely all miss; the API is the evidence then.
MIN_PROBED_TOXICITY = 0.25
MAX_PROBES = 12
# Latency below this is lost in a loopback round trip's noise: the API is the evidence.
MIN_PROBED_MS = 5.0
PROBED = frozenset({FaultType.latency, FaultType.down, FaultType.timeout, FaultType.reset_peer})


@dataclass(frozen=True)
class Evidence:
    """Whether a fault was seen to take effect, how, and what was seen."""

    ok: bool
    method: str  # "probe" | "api" | "traffic"
    detail: str


@dataclass(frozen=True)
class ProbeResult:
    """One probe round trip: its time, or how it failed."""

    seconds: float
    outcome: str  # "answered" | "refused" | "reset" | "closed" | "silent"


def probe(address: str, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """One SSLRequest round trip to ``host:port``."""
    host, port = address.rsplit(":", 1)
    started = time.monotonic()
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.sendall(SSL_REQUEST)
            reply = sock.recv(1)
    except ConnectionRefusedError:
        return ProbeResult(time.monotonic() - started, "refused")
    except ConnectionResetError:
        return ProbeResult(time.monotonic() - started, "reset")
    except TimeoutError:
        return ProbeResult(time.monotonic() - started, "silent")
    except OSError:
        return ProbeResult(time.monotonic() - started, "closed")
    return ProbeResult(time.monotonic() - started, "answered" if reply else "closed")


class FaultVerifier:
    """Checks faults on one Toxiproxy server against a baseline taken before any fault."""

    def __init__(self, client: ToxiproxyClient) -> None:
        self.client = client
        self.baseline: dict[str, float] = {}

    def take_baseline(self, proxies: list[str]) -> None:
        """Median probe time through each proxy while it is healthy."""
        for name in proxies:
            try:
                address = self.client.proxy(name)["listen"]
            except FaultError as exc:
                log.warning("no baseline for proxy %s: %s", name, exc)
                continue
            # The fastest of a few: a busy machine only ever adds to a round trip, so the
            # minimum is the stable figure to compare a slowed probe against.
            self.baseline[name] = min(probe(address).seconds for _ in range(5))

    def bytes_through(self, proxy: str) -> int | None:
        """Bytes the proxy has moved in both directions so far, if it exposes metrics."""
        try:
            text = self.client.metrics()
        except FaultError:
            return None
        total = 0
        for family in text_string_to_metric_families(text):
            if family.name not in ("toxiproxy_proxy_received_bytes", "toxiproxy_proxy_sent_bytes"):
                continue
            for sample in family.samples:
                if sample.labels.get("proxy") == proxy and sample.name.endswith("_total"):
                    total += int(sample.value)
        return total

    def verify(self, fault: Fault) -> Evidence:
        """Evidence that ``fault`` is in effect right now."""
        too_small = fault.type is FaultType.latency and _expected_ms(fault) < MIN_PROBED_MS
        if fault.type in PROBED and fault.toxicity >= MIN_PROBED_TOXICITY and not too_small:
            return self._probe(fault)
        return self._read_back(fault)

    def _read_back(self, fault: Fault) -> Evidence:
        try:
            toxics = {t["name"]: t for t in self.client.toxics(fault.proxy)}
        except FaultError as exc:
            return Evidence(False, "api", f"cannot read toxics back: {exc}")
        toxic = toxics.get(fault.label)
        if toxic is None:
            return Evidence(False, "api", "the toxic is not on the proxy")
        wanted = {k: v for k, v in fault.attributes.items()}
        got = {k: toxic.get("attributes", {}).get(k) for k in wanted}
        if got != wanted or toxic.get("type") != fault.type.value:
            return Evidence(False, "api", f"the proxy holds {toxic}, not what was asked")
        return Evidence(True, "api", f"toxic {fault.label} present with {wanted or 'defaults'}")

    def _probe(self, fault: Fault) -> Evidence:
        try:
            address = self.client.proxy(fault.proxy)["listen"]
        except FaultError as exc:
            return Evidence(False, "probe", f"cannot find the proxy's address: {exc}")
        # With toxicity 1 every connection is slowed, and noise can only add time, so a
        # few tries guard against a stalled probe thread, not against missing the toxic.
        tries = 3 if fault.toxicity >= 1 else MAX_PROBES
        seen: list[str] = []
        for _ in range(tries):
            result = probe(address, timeout=_probe_timeout(fault))
            felt, what = self._felt(fault, result)
            seen.append(what)
            if felt:
                return Evidence(True, "probe", what)
        return Evidence(False, "probe", f"no probe felt it: {'; '.join(seen[:3])}")

    def _felt(self, fault: Fault, result: ProbeResult) -> tuple[bool, str]:
        ms = result.seconds * 1000
        if fault.type is FaultType.down:
            return result.outcome == "refused", f"connect {result.outcome} after {ms:.0f} ms"
        if fault.type is FaultType.latency:
            base = self.baseline.get(fault.proxy, 0.0) * 1000
            expected = _expected_ms(fault)
            added = ms - base
            return (
                result.outcome == "answered" and added >= 0.8 * expected,
                f"round trip {ms:.1f} ms vs {base:.1f} ms before (+{added:.1f} ms, "
                f"expected >= {0.8 * expected:.0f})",
            )
        if fault.type is FaultType.timeout:
            return result.outcome != "answered", f"probe {result.outcome} after {ms:.0f} ms"
        # reset_peer: no answer, then a close (a reset when the toxic predates the
        # connection) after `timeout` ms; a long timeout outlasts the probe in silence.
        return result.outcome != "answered", f"probe {result.outcome} after {ms:.0f} ms"


def _expected_ms(fault: Fault) -> float:
    """The least latency a probe should feel under a latency toxic, as applied."""
    return fault.attributes.get("latency", 0) - fault.attributes.get("jitter", 0)


def _probe_timeout(fault: Fault) -> float:
    if fault.type is FaultType.latency:
        # One round trip crosses the toxic once, whichever stream it is on.
        delay_ms = fault.attributes.get("latency", 0) + fault.attributes.get("jitter", 0)
        return PROBE_TIMEOUT + delay_ms / 1000
    if fault.type in (FaultType.reset_peer, FaultType.timeout):
        timeout_ms = fault.attributes.get("timeout", 0)
        # timeout 0 never closes: a short silence is the evidence.
        return min(PROBE_TIMEOUT + timeout_ms / 1000, 10.0) if timeout_ms else 1.0
    return PROBE_TIMEOUT
