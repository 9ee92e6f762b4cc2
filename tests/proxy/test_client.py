"""toxiproxy-python drives the embedded proxy unchanged."""

from __future__ import annotations

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from tests.proxy.conftest import connect, round_trip


def test_client_lifecycle_create_toxics_disable_reset_destroy(
    client: Toxiproxy, echo_upstream: str
) -> None:
    assert client.running()
    assert client.version() == b'{"version": "2.12.0"}\n'
    proxy = client.create(upstream=echo_upstream, name="db")
    assert proxy.listen.startswith("127.0.0.1:") and proxy.enabled
    assert set(client.proxies()) == {"db"}

    proxy.add_toxic(type="latency", attributes={"latency": 50})
    proxy.add_toxic(name="cut", type="timeout", stream="upstream", toxicity=0.5)
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "cut"}
    assert toxics["cut"].toxicity == 0.5 and toxics["cut"].stream == "upstream"
    assert proxy.get_toxic("latency_downstream").attributes == {"latency": 50, "jitter": 0}

    proxy.destroy_toxic("cut")
    proxy.disable()
    assert client.get_proxy("db").enabled is False
    assert client.reset()
    assert client.get_proxy("db").enabled is True
    assert proxy.toxics() == {}

    with connect(proxy.listen) as sock:
        assert round_trip(sock)[0] == b"ping"
    client.destroy_all()
    assert client.proxies() == {}


def test_client_errors_map_to_its_exceptions(client: Toxiproxy, echo_upstream: str) -> None:
    proxy = client.create(upstream=echo_upstream, name="e")
    with pytest.raises(ProxyExists):
        client.create(upstream=echo_upstream, name="e")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    proxy.add_toxic(type="noop")
    with pytest.raises(ProxyExists):  # the client maps every 409, toxics included
        proxy.add_toxic(type="noop")
    with pytest.raises(NotFound):
        proxy.destroy_toxic("missing")


def test_client_populate_and_down_context(client: Toxiproxy, echo_upstream: str) -> None:
    created = client.populate([{"name": "a", "upstream": echo_upstream, "listen": "127.0.0.1:0"}])
    proxy = created[0]
    with proxy.down():
        assert client.get_proxy("a").enabled is False
    assert client.get_proxy("a").enabled is True
