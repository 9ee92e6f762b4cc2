"""Fault verification against our proxy in-process, in front of a fake PostgreSQL.

The fake answers PostgreSQL's SSLRequest with 'N', as a server without TLS does, which
is all the probe asks of the upstream.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from harness.experiment.model import Fault
from harness.faults.toxiproxy import ToxiproxyClient
from harness.faults.verify import FaultVerifier, probe
from harness.proxy import ProxyServerThread


class FakePostgres:
    """Answers every 8-byte SSLRequest with b'N', on a thread per connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn: socket.socket) -> None:
        with conn:
            try:
                while conn.recv(8):
                    conn.sendall(b"N")
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def stack() -> Iterator[tuple[ToxiproxyClient, str]]:
    """A proxy "postgres" in front of the fake; yields the client and the proxy address."""
    upstream = FakePostgres()
    with ProxyServerThread(seed=7) as server:
        client = ToxiproxyClient(server.url)
        listen = client.create_proxy("postgres", "127.0.0.1:0", upstream.address)
        yield client, listen
    upstream.close()


def fault(**fields: object) -> Fault:
    return Fault.model_validate({"at": 0, "duration": 10, **fields})


def test_a_probe_through_a_healthy_proxy_is_answered(stack) -> None:
    _, listen = stack
    assert probe(listen).outcome == "answered"


def test_a_latency_toxic_is_felt_by_the_probe(stack) -> None:
    client, _ = stack
    verifier = FaultVerifier(client)
    verifier.take_baseline(["postgres"])
    latency = fault(name="slow", type="latency", attributes={"latency": 150})

    before = verifier.verify(latency)
    client.add_toxic(
        "postgres", {"name": "slow", "type": "latency", "attributes": {"latency": 150}}
    )
    after = verifier.verify(latency)

    assert (before.ok, before.method) == (False, "probe")
    assert (after.ok, after.method) == (True, "probe")
    assert "+1" in after.detail  # +1xx ms added


def test_a_proxy_taken_down_refuses_the_probe(stack) -> None:
    client, _ = stack
    verifier = FaultVerifier(client)
    down = fault(type="down")

    assert not verifier.verify(down).ok
    client.set_enabled("postgres", False)
    evidence = verifier.verify(down)

    assert evidence.ok and "refused" in evidence.detail


@pytest.mark.parametrize("kind", ["timeout", "reset_peer"])
def test_toxics_that_cut_the_answer_are_felt(stack, kind: str) -> None:
    client, _ = stack
    verifier = FaultVerifier(client)
    client.add_toxic("postgres", {"name": "cut", "type": kind, "attributes": {"timeout": 100}})

    assert verifier.verify(fault(name="cut", type=kind, attributes={"timeout": 100})).ok


def test_a_partly_toxic_latency_is_found_among_several_probes(stack) -> None:
    client, _ = stack
    verifier = FaultVerifier(client)
    verifier.take_baseline(["postgres"])
    client.add_toxic(
        "postgres",
        {"name": "some", "type": "latency", "toxicity": 0.5, "attributes": {"latency": 100}},
    )

    assert verifier.verify(
        fault(name="some", type="latency", toxicity=0.5, attributes={"latency": 100})
    ).ok


def test_toxics_a_probe_cannot_see_are_read_back_from_the_api(stack) -> None:
    client, _ = stack
    verifier = FaultVerifier(client)
    narrow = fault(name="narrow", type="bandwidth", attributes={"rate": 10})

    missing = verifier.verify(narrow)
    client.add_toxic(
        "postgres", {"name": "narrow", "type": "bandwidth", "attributes": {"rate": 10}}
    )
    present = verifier.verify(narrow)
    client.remove_toxic("postgres", "narrow")
    client.add_toxic(
        "postgres", {"name": "narrow", "type": "bandwidth", "attributes": {"rate": 99}}
    )
    different = verifier.verify(narrow)

    assert (missing.ok, present.ok, different.ok) == (False, True, False)
    assert present.method == "api"


def test_byte_counters_move_only_with_traffic(stack) -> None:
    client, listen = stack
    verifier = FaultVerifier(client)

    start = verifier.bytes_through("postgres")
    idle = verifier.bytes_through("postgres")
    probe(listen)
    busy = verifier.bytes_through("postgres")

    assert start is not None and idle == start
    assert busy is not None and busy >= start + 9  # 8 bytes up, 1 byte down
