"""The rest of the API's answers: handler timeout, request ids on errors, nulls, 405s."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from harness.proxy import ProxyServer, ProxyServerThread
from tests.proxy.conftest import Api, connect, free_port, round_trip, wait_until
from tests.proxy.test_api import assert_error

GO_TIMEOUT_PAGE = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
REQUEST_ID = re.compile(r"[0-9a-v]{20}")


def test_the_handler_timeout_is_toxiproxys_25_seconds_by_default() -> None:
    assert ProxyServer().handler_timeout == 25.0


def test_a_handler_past_the_timeout_gets_go_503_and_still_completes(echo_upstream: str) -> None:
    with ProxyServerThread(port=0, handler_timeout=0.2) as server:
        api = Api(server.api_port)
        lock = server.server.collection.lock  # every change waits for it: hold it
        asyncio.run_coroutine_threadsafe(lock.acquire(), server.loop).result(timeout=5)
        try:
            started = time.monotonic()
            reply = api.request("POST", "/proxies", {"name": "late", "upstream": echo_upstream})
            elapsed = time.monotonic() - started
        finally:
            server.loop.call_soon_threadsafe(lock.release)
        assert (reply.status, reply.body) == (503, GO_TIMEOUT_PAGE)
        assert reply.content_type == "text/html; charset=utf-8"
        assert REQUEST_ID.fullmatch(reply.headers["X-Toxiproxy-Request-Id"])
        assert 0.15 <= elapsed < 5
        # Go's TimeoutHandler does not stop the handler: the proxy is created anyway.
        wait_until(lambda: "late" in api.request("GET", "/proxies").json())


def test_error_answers_of_matched_routes_carry_a_request_id(api: Api) -> None:
    for reply in (
        api.request("GET", "/proxies/nope"),
        api.request("POST", "/proxies", b""),
        api.request("DELETE", "/proxies/nope/toxics/t"),
    ):
        assert reply.status in (400, 404)
        assert REQUEST_ID.fullmatch(reply.headers["X-Toxiproxy-Request-Id"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("OPTIONS", "/proxies"),
        ("DELETE", "/version"),
        ("PUT", "/proxies/p"),
        ("PUT", "/proxies/p/toxics"),
        ("PUT", "/proxies/p/toxics/t"),
        ("GET", "/proxies/p/toxics/t/x"),
    ],
)
def test_other_methods_on_known_paths_are_405_and_unknown_paths_404(
    api: Api, method: str, path: str
) -> None:
    reply = api.request(method, path)
    expected = (404, b"404 page not found\n") if path.endswith("/x") else (405, b"")
    assert (reply.status, reply.body) == expected


def test_enabled_null_means_enabled_on_create_and_populate(api: Api, echo_upstream: str) -> None:
    created = api.request(
        "POST", "/proxies", {"name": "a", "upstream": echo_upstream, "enabled": None}
    )
    assert (created.status, created.json()["enabled"]) == (201, True)
    populated = api.request(
        "POST", "/populate", [{"name": "b", "upstream": echo_upstream, "enabled": None}]
    )
    assert populated.json()["proxies"][0]["enabled"] is True
    with connect(populated.json()["proxies"][0]["listen"]) as sock:
        assert round_trip(sock)[0] == b"ping"


def test_an_empty_listen_binds_loopback_on_a_free_port(api: Api, echo_upstream: str) -> None:
    # Toxiproxy binds every interface ("[::]:port"); the harness stays on loopback.
    listen = api.request("POST", "/proxies", {"name": "e", "upstream": echo_upstream}).json()
    assert re.fullmatch(r"127\.0\.0\.1:\d+", listen["listen"])
    assert not listen["listen"].endswith(":0")


def test_unknown_keys_and_toxics_in_a_create_body_are_ignored(api: Api) -> None:
    body = {"name": "u", "upstream": "x:1", "enabled": False, "toxics": [{"type": "noop"}], "x": 1}
    reply = api.request("POST", "/proxies", body)
    assert (reply.status, reply.json()["toxics"]) == (201, [])


def test_toxic_bodies_are_decoded_like_go(api: Api, echo_upstream: str) -> None:
    api.create_proxy("p", echo_upstream)
    path = "/proxies/p/toxics"
    assert_error(api.request("POST", path, b""), 400, "bad request body: EOF")
    assert_error(
        api.request("POST", path, {"type": "latency", "attributes": "x"}),
        400,
        "bad request body: json: cannot unmarshal string into Go struct field"
        " ToxicWrapper.attributes of type toxics.NoopToxic",
    )
    assert_error(
        api.request("POST", path, {"type": "latency", "toxicity": True}),
        400,
        "bad request body: json: cannot unmarshal bool into Go struct field"
        " ToxicWrapper.toxicity of type float32",
    )
    null_attributes = api.request("POST", path, {"type": "latency", "attributes": None})
    assert null_attributes.json()["attributes"] == {"latency": 0, "jitter": 0}
    assert_error(
        api.request("PATCH", f"{path}/latency_downstream", b""), 400, "bad request body: EOF"
    )
    assert_error(api.request("GET", "/proxies/nope/toxics"), 404, "proxy not found")
    assert_error(api.request("DELETE", "/proxies/nope/toxics/t"), 404, "proxy not found")


def test_a_proxy_update_body_is_decoded_like_go(api: Api, echo_upstream: str) -> None:
    api.create_proxy("p", echo_upstream)
    assert_error(
        api.request("PATCH", "/proxies/p", b'{"enabled":'), 400, "bad request body: unexpected EOF"
    )
    assert_error(
        api.request("PATCH", "/proxies/p", {"upstream": 5}),
        400,
        "bad request body: json: cannot unmarshal number into Go struct field Proxy.upstream"
        " of type string",
    )


def test_disabling_with_a_new_listen_stores_it_verbatim(api: Api, echo_upstream: str) -> None:
    api.create_proxy("p", echo_upstream)
    reply = api.request("PATCH", "/proxies/p", {"enabled": False, "listen": "localhost:5"})
    assert (reply.json()["listen"], reply.json()["enabled"]) == ("localhost:5", False)


def test_a_new_upstream_restarts_the_proxy_and_keeps_its_toxics(
    api: Api, echo_upstream: str
) -> None:
    dead = f"127.0.0.1:{free_port()}"
    listen = api.create_proxy("p", dead, f"127.0.0.1:{free_port()}")["listen"]
    api.add_toxic("p", name="kept", type="noop")
    with connect(listen) as sock:  # dialling the dead upstream fails: closed at once
        sock.settimeout(5)
        assert sock.recv(10) == b""
    moved = api.request("PATCH", "/proxies/p", {"upstream": echo_upstream}).json()
    assert (moved["listen"], moved["upstream"], moved["enabled"]) == (listen, echo_upstream, True)
    assert [toxic["name"] for toxic in moved["toxics"]] == ["kept"]
    with connect(listen) as sock:
        assert round_trip(sock)[0] == b"ping"
        api.request("PATCH", "/proxies/p", {"upstream": dead})  # restart: drops the connection
        sock.settimeout(5)
        assert sock.recv(10) == b""


def test_toxics_survive_disable_and_enable(api: Api, echo_upstream: str) -> None:
    listen = api.create_proxy("p", echo_upstream)["listen"]
    api.add_toxic("p", name="slow", type="latency", attributes={"latency": 100})
    api.request("PATCH", "/proxies/p", {"enabled": False})
    enabled = api.request("PATCH", "/proxies/p", {"enabled": True}).json()
    assert [toxic["name"] for toxic in enabled["toxics"]] == ["slow"]
    with connect(listen) as sock:
        assert 0.09 <= round_trip(sock)[1] <= 1.0


def test_populate_names_the_first_entry_missing_an_upstream(api: Api) -> None:
    reply = api.request("POST", "/populate", [{"name": "a", "upstream": "x:1"}, {"name": "b"}])
    assert reply.status == 400
    assert reply.body == (
        b'{"error":"missing required field: upstream at proxy 2","status":400,"proxies":null}'
    )


def test_reset_with_no_proxies_answers_204(api: Api) -> None:
    reply = api.request("POST", "/reset")
    assert (reply.status, reply.body) == (204, b"")
