"""``/populate`` (bulk create or replace) and ``/reset`` behave as in Toxiproxy 2.12."""

from __future__ import annotations

import socket

from tests.proxy.conftest import Api, connect, free_port, round_trip
from tests.proxy.test_api import assert_error


def test_populate_creates_in_request_order_and_answers_201(api: Api, echo_upstream: str) -> None:
    reply = api.request(
        "POST",
        "/populate",
        [
            {"name": "two", "listen": "127.0.0.1:0", "upstream": echo_upstream},
            {"name": "one", "listen": "127.0.0.1:0", "upstream": echo_upstream, "enabled": False},
        ],
    )
    assert (reply.status, reply.content_type) == (201, "application/json")
    proxies = reply.json()["proxies"]
    assert [(p["name"], p["enabled"]) for p in proxies] == [("two", True), ("one", False)]
    assert proxies[1]["listen"] == "127.0.0.1:0"


def test_populate_with_an_empty_array_lists_null(api: Api) -> None:
    reply = api.request("POST", "/populate", [])
    assert (reply.status, reply.body) == (201, b'{"proxies":null}')


def test_populate_validates_everything_before_creating_anything(
    api: Api, echo_upstream: str
) -> None:
    reply = api.request(
        "POST",
        "/populate",
        [{"name": "ok", "upstream": echo_upstream}, {"upstream": echo_upstream}],
    )
    assert (reply.status, reply.content_type) == (400, "application/json")
    assert (
        reply.body
        == b'{"error":"missing required field: name at proxy 2","status":400,"proxies":null}'
    )
    assert api.request("GET", "/proxies").body == b"{}"
    not_array = api.request("POST", "/populate", {"name": "x"})
    assert not_array.status == 400
    assert not_array.json()["error"].startswith("bad request body: json: cannot unmarshal object")


def test_populate_stops_at_the_first_failure_keeping_earlier_proxies(
    api: Api, echo_upstream: str
) -> None:
    reply = api.request(
        "POST",
        "/populate",
        [
            {"name": "p4", "listen": "127.0.0.1:0", "upstream": echo_upstream},
            {"name": "bad", "listen": "local373", "upstream": echo_upstream},
            {"name": "never", "listen": "127.0.0.1:0", "upstream": echo_upstream},
        ],
    )
    assert reply.status == 500
    body = reply.json()
    assert body["error"] == "listen tcp: address local373: missing port in address"
    assert [p["name"] for p in body["proxies"]] == ["p4"]
    assert list(api.request("GET", "/proxies").json()) == ["p4"]


def test_populate_keeps_an_unchanged_proxy_and_replaces_a_moved_one(
    api: Api, echo_upstream: str
) -> None:
    port_one, port_two, port_moved = free_port(), free_port(), free_port()
    api.create_proxy("one", echo_upstream, f"127.0.0.1:{port_one}")
    api.create_proxy("two", echo_upstream, f"127.0.0.1:{port_two}")
    api.add_toxic("one", name="kept", type="latency")
    api.add_toxic("two", name="lost", type="latency")
    reply = api.request(
        "POST",
        "/populate",
        [
            {"name": "one", "listen": f"localhost:{port_one}", "upstream": echo_upstream},
            {"name": "two", "listen": f"127.0.0.1:{port_moved}", "upstream": echo_upstream},
        ],
    )
    assert reply.status == 201
    one, two = reply.json()["proxies"]
    assert (one["listen"], [t["name"] for t in one["toxics"]]) == (
        f"127.0.0.1:{port_one}",
        ["kept"],
    )
    assert (two["listen"], two["toxics"]) == (f"127.0.0.1:{port_moved}", [])


def test_reset_enables_every_proxy_and_removes_all_toxics(api: Api, echo_upstream: str) -> None:
    created = api.create_proxy("r", echo_upstream)
    api.add_toxic("r", name="slow", type="latency", attributes={"latency": 1000})
    api.request("PATCH", "/proxies/r", {"enabled": False})
    reply = api.request("POST", "/reset", b"ignored body")
    assert (reply.status, reply.body) == (204, b"")
    after = api.request("GET", "/proxies/r").json()
    assert (after["enabled"], after["toxics"], after["listen"]) == (True, [], created["listen"])
    with connect(after["listen"]) as sock:
        echoed, seconds = round_trip(sock)
    assert echoed == b"ping" and seconds < 0.5


def test_reset_fails_with_500_when_a_proxy_cannot_start(api: Api, echo_upstream: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        api.request(
            "POST",
            "/proxies",
            {"name": "c", "listen": taken, "upstream": echo_upstream, "enabled": False},
        )
        assert_error(
            api.request("POST", "/reset"), 500, f"listen tcp {taken}: bind: address already in use"
        )


def test_metrics_count_bytes_per_direction_in_prometheus_text(api: Api, echo_upstream: str) -> None:
    proxy = api.create_proxy("m", echo_upstream)
    with connect(proxy["listen"]) as sock:
        round_trip(sock, b"x" * 100)
    reply = api.request("GET", "/metrics")
    assert reply.content_type == "text/plain; version=0.0.4; charset=utf-8"
    text = reply.body.decode()
    labels = f'listener="{proxy["listen"]}",proxy="m",upstream="{echo_upstream}"'
    assert f'toxiproxy_proxy_received_bytes_total{{direction="upstream",{labels}}} 100' in text
    assert f'toxiproxy_proxy_sent_bytes_total{{direction="downstream",{labels}}} 100' in text
    assert "# TYPE toxiproxy_proxy_sent_bytes_total counter" in text


def test_populate_ignores_enabled_for_an_unchanged_running_proxy(
    api: Api, echo_upstream: str
) -> None:
    created = api.create_proxy("same", echo_upstream)
    entry = {
        "name": "same",
        "listen": created["listen"],
        "upstream": echo_upstream,
        "enabled": False,
    }
    reply = api.request("POST", "/populate", [entry])
    assert reply.json()["proxies"][0]["enabled"] is True
