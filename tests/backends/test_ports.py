"""Free loopback ports for a local stack."""

from __future__ import annotations

import socket

from harness.backends.ports import LOOPBACK, free_port, free_ports


def bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(20)

    assert len(ports) == 20
    assert len(set(ports)) == 20
    assert all(1024 <= port <= 65535 for port in ports)
    assert all(bindable(port) for port in ports)


def test_free_ports_of_zero_is_empty() -> None:
    assert free_ports(0) == []


def test_free_port_is_bindable() -> None:
    assert bindable(free_port())
