"""Toxic endpoints: defaults, validation order, merge on update, listing order."""

from __future__ import annotations

import pytest

from tests.proxy.conftest import Api, Reply
from tests.proxy.test_api import assert_error


@pytest.fixture
def proxy(api: Api, echo_upstream: str) -> str:
    """A running proxy named ``p``."""
    api.create_proxy("p", echo_upstream)
    return "p"


def create(api: Api, body: object) -> Reply:
    return api.request("POST", "/proxies/p/toxics", body)  # type: ignore[arg-type]


def test_create_fills_defaults_and_answers_200_in_go_key_order(api: Api, proxy: str) -> None:
    reply = create(api, {"type": "latency"})
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert reply.body == (
        b'{"attributes":{"latency":0,"jitter":0},"name":"latency_downstream",'
        b'"type":"latency","stream":"downstream","toxicity":1}'
    )


def test_every_type_lists_all_its_attributes(api: Api, proxy: str) -> None:
    expected = {
        "latency": {"latency": 0, "jitter": 0},
        "bandwidth": {"rate": 0},
        "slow_close": {"delay": 0},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
        "limit_data": {"bytes": 0},
        "noop": {},
    }
    for toxic_type, attributes in expected.items():
        reply = create(api, {"type": toxic_type, "stream": "upstream"})
        assert reply.json()["attributes"] == attributes, toxic_type


def test_stream_spelling_is_kept_and_names_the_default(api: Api, proxy: str) -> None:
    reply = create(api, {"type": "noop", "stream": "DOWNSTREAM", "toxicity": 0.2})
    assert reply.json()["name"] == "noop_DOWNSTREAM"
    assert reply.json()["stream"] == "DOWNSTREAM"
    assert b'"toxicity":0.2}' in reply.body


def test_validation_order_decides_which_error_wins(api: Api, proxy: str) -> None:
    bad_stream = "stream was invalid, can be either upstream or downstream"
    assert_error(create(api, {"type": "nope", "stream": "walrustream"}), 400, bad_stream)
    assert_error(create(api, {"type": "latency", "stream": ""}), 400, bad_stream)
    assert_error(create(api, {"type": "nope"}), 400, "invalid toxic type")
    assert_error(create(api, {"stream": "upstream"}), 400, "invalid toxic type")
    assert_error(
        create(api, {"type": "latency", "toxicity": "high"}),
        400,
        "bad request body: json: cannot unmarshal string into Go struct field"
        " ToxicWrapper.toxicity of type float32",
    )
    assert_error(
        create(api, {"type": "latency", "attributes": {"latency": 1.5}}),
        400,
        "bad request body: json: cannot unmarshal number 1.5 into Go struct field"
        " LatencyToxic.attributes.latency of type int64",
    )
    assert api.request("GET", "/proxies/p/toxics").body == b"[]"


def test_names_are_unique_across_both_streams(api: Api, proxy: str) -> None:
    api.add_toxic("p", name="t", type="latency", stream="upstream")
    assert_error(
        create(api, {"name": "t", "type": "noop", "stream": "downstream"}),
        409,
        "toxic already exists",
    )
    assert api.request("GET", "/proxies/p/toxics/t").json()["type"] == "latency"


def test_out_of_range_values_are_accepted_as_is(api: Api, proxy: str) -> None:
    reply = create(api, {"type": "latency", "toxicity": -3, "attributes": {"latency": -5}})
    assert reply.status == 200
    assert b'"toxicity":-3' in reply.body
    assert reply.json()["attributes"]["latency"] == -5


def test_listing_shows_upstream_toxics_before_downstream(api: Api, proxy: str) -> None:
    api.add_toxic("p", name="d1", type="noop", stream="downstream")
    api.add_toxic("p", name="u1", type="noop", stream="upstream")
    api.add_toxic("p", name="d2", type="noop")
    names = [toxic["name"] for toxic in api.request("GET", "/proxies/p/toxics").json()]
    assert names == ["u1", "d1", "d2"]
    in_proxy = [toxic["name"] for toxic in api.request("GET", "/proxies/p").json()["toxics"]]
    assert in_proxy == names


def test_update_merges_attributes_and_keeps_missing_toxicity(api: Api, proxy: str) -> None:
    api.add_toxic("p", name="l", type="latency", attributes={"latency": 100, "jitter": 10})
    first = api.request(
        "PATCH", "/proxies/p/toxics/l", {"toxicity": 0.5, "attributes": {"latency": 1000}}
    )
    assert first.status == 200
    assert first.json()["attributes"] == {"latency": 1000, "jitter": 10}
    assert first.json()["toxicity"] == 0.5
    second = api.request(
        "POST", "/proxies/p/toxics/l", {"attributes": {"latency": 500}, "name": "x"}
    )
    assert (second.json()["name"], second.json()["toxicity"]) == ("l", 0.5)
    assert second.json()["attributes"]["latency"] == 500


def test_update_with_a_type_error_changes_nothing(api: Api, proxy: str) -> None:
    api.add_toxic("p", name="l", type="latency", attributes={"latency": 100})
    reply = api.request(
        "PATCH", "/proxies/p/toxics/l", {"attributes": {"latency": "x", "jitter": 5}}
    )
    assert reply.status == 400
    assert reply.json()["error"].startswith("bad request body: json: cannot unmarshal string")
    assert api.request("GET", "/proxies/p/toxics/l").json()["attributes"] == {
        "latency": 100,
        "jitter": 0,
    }


def test_lookups_check_the_proxy_before_the_toxic(api: Api, proxy: str) -> None:
    assert_error(api.request("GET", "/proxies/nope/toxics/x"), 404, "proxy not found")
    assert_error(api.request("GET", "/proxies/p/toxics/x"), 404, "toxic not found")
    assert_error(api.request("PATCH", "/proxies/p/toxics/x", {}), 404, "toxic not found")
    assert_error(
        api.request("POST", "/proxies/nope/toxics", {"type": "noop"}), 404, "proxy not found"
    )


def test_delete_answers_204_then_404(api: Api, proxy: str) -> None:
    api.add_toxic("p", name="gone", type="noop")
    deleted = api.request("DELETE", "/proxies/p/toxics/gone")
    assert (deleted.status, deleted.body) == (204, b"")
    assert_error(api.request("DELETE", "/proxies/p/toxics/gone"), 404, "toxic not found")
    assert api.request("GET", "/proxies/p/toxics").body == b"[]"


def test_toxics_can_be_added_to_a_disabled_proxy(api: Api) -> None:
    api.request("POST", "/proxies", {"name": "p", "upstream": "x:1", "enabled": False})
    assert create(api, {"type": "timeout"}).status == 200
