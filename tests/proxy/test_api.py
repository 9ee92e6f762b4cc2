"""The HTTP API answers exactly as Toxiproxy 2.12 does: statuses, bodies, headers."""

from __future__ import annotations

import re
import socket

from tests.proxy.conftest import Api, Reply, connect, free_port, round_trip

ERROR_TYPE = "text/plain; charset=utf-8"


def assert_error(reply: Reply, status: int, message: str) -> None:
    """Check Go's http.Error form: text/plain, nosniff, compact JSON plus a newline."""
    assert reply.status == status
    assert reply.content_type == ERROR_TYPE
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    expected = '{"error":"' + message + '","status":' + str(status) + "}\n"
    assert reply.body.decode() == expected


def test_version_body_is_exact_bytes_with_its_own_content_type(api: Api) -> None:
    reply = api.request("GET", "/version")
    assert reply.status == 200
    assert reply.body == b'{"version": "2.12.0"}\n'
    assert reply.content_type == "application/json;charset=utf-8"


def test_matched_routes_carry_a_20_char_request_id(api: Api) -> None:
    request_id = api.request("GET", "/proxies").headers["X-Toxiproxy-Request-Id"]
    assert re.fullmatch(r"[0-9a-v]{20}", request_id)
    assert api.request("GET", "/proxies").headers["X-Toxiproxy-Request-Id"] != request_id


def test_empty_proxy_list_is_an_empty_object_without_newline(api: Api) -> None:
    reply = api.request("GET", "/proxies")
    assert (reply.status, reply.body, reply.content_type) == (200, b"{}", "application/json")


def test_unknown_path_is_go_404_without_request_id(api: Api) -> None:
    for path in ("/nope", "/proxies/", "/proxies/a/b/c/d"):
        reply = api.request("GET", path)
        assert (reply.status, reply.body) == (404, b"404 page not found\n")
        assert reply.content_type == ERROR_TYPE
        assert "X-Toxiproxy-Request-Id" not in reply.headers


def test_known_path_with_wrong_method_is_405_with_empty_body(api: Api) -> None:
    for method, path in [("PUT", "/proxies"), ("GET", "/reset"), ("GET", "/populate")]:
        reply = api.request(method, path)
        assert (reply.status, reply.body, reply.content_type) == (405, b"", None)
        assert "X-Toxiproxy-Request-Id" not in reply.headers
    assert api.request("HEAD", "/version").status == 405


def test_unclean_path_is_redirected_permanently(api: Api) -> None:
    reply = api.request("GET", "//proxies")
    assert (reply.status, reply.headers["Location"]) == (301, "/proxies")


def test_browser_user_agent_is_refused_but_other_agents_are_not(api: Api) -> None:
    reply = api.request("GET", "/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"})
    assert (reply.status, reply.body) == (403, b"User agent not allowed\n")
    assert reply.content_type == ERROR_TYPE
    assert "X-Toxiproxy-Request-Id" in reply.headers
    for agent in ("Wget/2.1", "mozilla/5.0", ""):
        assert api.request("GET", "/proxies", headers={"User-Agent": agent}).status == 200
    browser_404 = api.request("GET", "/nope", headers={"User-Agent": "Mozilla/5.0"})
    assert browser_404.status == 404


def test_create_returns_201_with_bound_listen_and_go_key_order(
    api: Api, echo_upstream: str
) -> None:
    port = free_port()
    reply = api.request(
        "POST", "/proxies", {"name": "a", "listen": f"localhost:{port}", "upstream": echo_upstream}
    )
    assert reply.status == 201
    assert reply.content_type == "application/json"
    assert reply.body.decode() == (
        f'{{"name":"a","listen":"127.0.0.1:{port}","upstream":"{echo_upstream}",'
        '"enabled":true,"Logger":{},"toxics":[]}'
    )


def test_disabled_proxy_keeps_listen_verbatim(api: Api) -> None:
    reply = api.request(
        "POST",
        "/proxies",
        {"name": "d", "listen": "localhost:1", "upstream": "x:1", "enabled": False},
    )
    assert reply.status == 201
    assert reply.json()["listen"] == "localhost:1"
    assert reply.json()["enabled"] is False


def test_create_validation_errors_in_toxiproxy_order(api: Api) -> None:
    assert_error(
        api.request("POST", "/proxies", {"upstream": "x:1"}), 400, "missing required field: name"
    )
    assert_error(
        api.request("POST", "/proxies", {"name": "n"}), 400, "missing required field: upstream"
    )
    assert_error(api.request("POST", "/proxies", b""), 400, "bad request body: EOF")
    assert_error(
        api.request("POST", "/proxies", b'{"name":'), 400, "bad request body: unexpected EOF"
    )
    assert_error(
        api.request("POST", "/proxies", b"[]"),
        400,
        "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy",
    )
    assert_error(
        api.request("POST", "/proxies", {"name": "n", "upstream": "x:1", "enabled": "yes"}),
        400,
        "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled"
        " of type bool",
    )


def test_trailing_garbage_after_the_body_is_ignored(api: Api) -> None:
    body = b'{"name":"g","upstream":"x:1","enabled":false} trailing garbage'
    assert api.request("POST", "/proxies", body).status == 201


def test_duplicate_name_conflicts_before_binding(api: Api, echo_upstream: str) -> None:
    api.create_proxy("dup", echo_upstream)
    reply = api.request("POST", "/proxies", {"name": "dup", "upstream": echo_upstream})
    assert_error(reply, 409, "proxy already exists")


def test_bind_conflict_is_500_with_go_text_and_creates_nothing(
    api: Api, echo_upstream: str
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        reply = api.request(
            "POST",
            "/proxies",
            {"name": "b", "listen": f"127.0.0.1:{port}", "upstream": echo_upstream},
        )
    assert_error(reply, 500, f"listen tcp 127.0.0.1:{port}: bind: address already in use")
    assert api.request("GET", "/proxies").body == b"{}"
    unparsable = api.request(
        "POST", "/proxies", {"name": "c", "listen": "bogus", "upstream": "x:1"}
    )
    assert_error(unparsable, 500, "listen tcp: address bogus: missing port in address")


def test_proxy_listing_is_sorted_by_name(api: Api, echo_upstream: str) -> None:
    for name in ("zeta", "alpha", "mid"):
        api.create_proxy(name, echo_upstream)
    assert list(api.request("GET", "/proxies").json()) == ["alpha", "mid", "zeta"]


def test_show_and_delete_proxy(api: Api, echo_upstream: str) -> None:
    created = api.create_proxy("s", echo_upstream)
    assert api.request("GET", "/proxies/s").json() == created
    deleted = api.request("DELETE", "/proxies/s")
    assert (deleted.status, deleted.body) == (204, b"")
    assert_error(api.request("GET", "/proxies/s"), 404, "proxy not found")
    assert_error(api.request("DELETE", "/proxies/s"), 404, "proxy not found")


def test_update_merges_over_current_values_and_ignores_name(api: Api, echo_upstream: str) -> None:
    created = api.create_proxy("u", echo_upstream)
    same = api.request("PATCH", "/proxies/u", {})
    assert (same.status, same.json()) == (200, created)
    disabled = api.request("POST", "/proxies/u", {"enabled": False, "name": "renamed"}).json()
    assert (disabled["name"], disabled["enabled"], disabled["listen"]) == (
        "u",
        False,
        created["listen"],
    )
    enabled = api.request("PATCH", "/proxies/u", {"enabled": True}).json()
    assert enabled["enabled"] is True
    assert_error(
        api.request("PATCH", "/proxies/u", {"listen": "bogus"}),
        500,
        "address bogus: missing port in address",
    )
    assert_error(api.request("PATCH", "/proxies/nope", {}), 404, "proxy not found")


def test_update_to_a_new_listen_restarts_there(api: Api, echo_upstream: str) -> None:
    api.create_proxy("m", echo_upstream)
    port = free_port()
    moved = api.request("PATCH", "/proxies/m", {"listen": f"localhost:{port}"}).json()
    assert (moved["listen"], moved["enabled"]) == (f"127.0.0.1:{port}", True)


def test_failed_enable_keeps_the_new_listen_and_stays_disabled(
    api: Api, echo_upstream: str
) -> None:
    api.request("POST", "/proxies", {"name": "f", "upstream": echo_upstream, "enabled": False})
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = f"127.0.0.1:{holder.getsockname()[1]}"
        reply = api.request("PATCH", "/proxies/f", {"enabled": True, "listen": taken})
        assert_error(reply, 500, f"listen tcp {taken}: bind: address already in use")
    shown = api.request("GET", "/proxies/f").json()
    assert (shown["listen"], shown["enabled"]) == (taken, False)


def test_update_with_an_equivalent_listen_keeps_open_connections(
    api: Api, echo_upstream: str
) -> None:
    port = free_port()
    api.create_proxy("k", echo_upstream, f"127.0.0.1:{port}")
    with connect(f"127.0.0.1:{port}") as sock:
        assert round_trip(sock)[0] == b"ping"
        reply = api.request("PATCH", "/proxies/k", {"listen": f"localhost:{port}"})
        assert reply.json()["listen"] == f"127.0.0.1:{port}"
        assert round_trip(sock)[0] == b"ping"


def test_a_name_with_a_slash_can_be_created_but_not_addressed(api: Api) -> None:
    created = api.request("POST", "/proxies", {"name": "a/b", "upstream": "x:1", "enabled": False})
    assert created.status == 201
    assert api.request("GET", "/proxies/a%2Fb").status == 404
    assert "a/b" in api.request("GET", "/proxies").json()


def test_metrics_answer_any_method(api: Api) -> None:
    for method in ("GET", "POST", "DELETE"):
        reply = api.request(method, "/metrics")
        assert reply.status == 200
        assert "X-Toxiproxy-Request-Id" in reply.headers
