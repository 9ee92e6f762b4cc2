"""Byte counters per proxy link, served at ``/metrics`` in the Prometheus text format.

The names and labels are Toxiproxy's (``toxiproxy_proxy_received_bytes_total`` and
``toxiproxy_proxy_sent_bytes_total`` with ``direction``, ``listener``, ``proxy``,
``upstream``). Two differences, both deliberate: the endpoint is always on (Toxiproxy
needs ``-proxy-metrics``), and counters move while a connection is open rather than
only when it closes, so a long-lived pooled connection shows up during a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ByteCounter", "LinkLabels", "ProxyMetrics", "format_go_float"]

_FAMILIES = (
    ("received", "toxiproxy_proxy_received_bytes_total"),
    ("sent", "toxiproxy_proxy_sent_bytes_total"),
)


@dataclass(frozen=True)
class LinkLabels:
    """The label values of one link's counters."""

    direction: str
    proxy: str
    listener: str
    upstream: str


class ByteCounter:
    """A monotonically increasing byte count; links add to ``value`` directly."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


class ProxyMetrics:
    """All byte counters of a server."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, LinkLabels], ByteCounter] = {}

    def counter(self, kind: str, labels: LinkLabels) -> ByteCounter:
        """The ``received`` or ``sent`` counter for ``labels``, created on first use."""
        key = (kind, labels)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = ByteCounter()
        return counter

    def render(self) -> bytes:
        """The counters in the Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for kind, family in _FAMILIES:
            samples = sorted(
                (
                    (labels, counter.value)
                    for (counter_kind, labels), counter in self._counters.items()
                    if counter_kind == kind
                ),
                key=lambda sample: _label_pairs(sample[0]),
            )
            if not samples:
                continue
            lines.append(f"# HELP {family} ")
            lines.append(f"# TYPE {family} counter")
            for labels, value in samples:
                lines.append(f"{family}{{{_label_text(labels)}}} {format_go_float(value)}")
        return "".join(line + "\n" for line in lines).encode("utf-8")


def _label_pairs(labels: LinkLabels) -> tuple[tuple[str, str], ...]:
    # Prometheus' Go client prints label pairs sorted by name, and samples by them.
    return (
        ("direction", labels.direction),
        ("listener", labels.listener),
        ("proxy", labels.proxy),
        ("upstream", labels.upstream),
    )


def _label_text(labels: LinkLabels) -> str:
    return ",".join(f'{name}="{_escape(value)}"' for name, value in _label_pairs(labels))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_go_float(value: float) -> str:
    """Format a sample like Go's ``strconv.FormatFloat(v, 'g', -1, 64)``.

    Shortest round-trip digits; exponent form below 1e-4 and from 1e6 up
    (``123456``, ``1.234567e+06``), as Prometheus' Go client prints samples.
    """
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(float(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = len(digit_tuple) + exponent  # where the decimal point falls in ``digits``
    prefix = "-" if sign else ""
    magnitude = point - 1
    if magnitude < -4 or magnitude >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exp_sign = "-" if magnitude < 0 else "+"
        return f"{prefix}{mantissa}e{exp_sign}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"
