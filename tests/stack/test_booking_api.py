"""Every endpoint of the booking service and the statuses it promises, over HTTP."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import psycopg
import pytest

if TYPE_CHECKING:
    from conftest import Service, ServiceLauncher

SECTIONS = "floor:10:15000,balcony:6:4500"


@pytest.fixture(scope="module")
def database_url(make_database: Callable[..., str]) -> str:
    """A database seeded with one event of 16 seats in two sections."""
    return make_database("--sections", SECTIONS)


@pytest.fixture(scope="module")
def shared_service(launcher: ServiceLauncher, database_url: str) -> Iterator[Service]:
    """One replica named api-1 for the module: starting one per test would be slow."""
    service = launcher.start(database_url, "--replica", "api-1", "--pool-size", "5")
    yield service
    assert service.stop() == 0


@pytest.fixture
def service(shared_service: Service, database_url: str) -> Service:
    """The shared replica, with every seat free again and no holds or bookings."""
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE seats SET status = 'free', hold_id = NULL, held_until = NULL, "
                     "booking_id = NULL")  # fmt: skip
        conn.execute("DELETE FROM bookings")
        conn.execute("DELETE FROM holds")
    return shared_service


def hold(service: Service, section: str = "floor", quantity: int = 2) -> dict:
    """Create a hold and return its JSON, asserting it was created."""
    reply = service.post("/events/1/holds", {"section": section, "quantity": quantity})
    assert reply.status == 201, reply.body
    return reply.body


def buy(service: Service, hold_id: str, key: str):
    """Purchase a hold with an Idempotency-Key."""
    return service.post(f"/holds/{hold_id}/purchase", headers={"Idempotency-Key": key})


def test_liveness_names_the_replica(service: Service) -> None:
    reply = service.get("/health/live")
    assert (reply.status, reply.body) == (200, {"status": "ok", "replica": "api-1"})


def test_readiness_is_200_when_the_database_answers(service: Service) -> None:
    assert service.get("/health/ready").status == 200


def test_events_lists_the_seeded_concert(service: Service) -> None:
    reply = service.get("/events")
    assert reply.status == 200
    (event,) = reply.body["events"]
    assert event["id"] == 1 and event["capacity"] == 16 and event["name"]
    assert "T" in event["starts_at"]  # ISO 8601


def test_availability_reports_each_section_with_its_price(service: Service) -> None:
    reply = service.get("/events/1/availability")
    assert reply.status == 200
    assert reply.body["free"] == 16
    sections = {s["section"]: s for s in reply.body["sections"]}
    assert sections["floor"] == {
        "section": "floor", "price_cents": 15000, "capacity": 10, "free": 10, "held": 0, "sold": 0
    }  # fmt: skip
    assert sections["balcony"]["capacity"] == 6


def test_unknown_event_is_404(service: Service) -> None:
    assert service.get("/events/99/availability").status == 404
    assert service.get("/events/99999999999/availability").status == 404
    reply = service.post("/events/99/holds", {"section": "floor", "quantity": 1})
    assert (reply.status, reply.body["error"]) == (404, "event_not_found")


def test_hold_takes_seats_and_availability_counts_them_as_held(service: Service) -> None:
    body = hold(service, quantity=3)
    assert body["event_id"] == 1 and body["section"] == "floor"
    assert len(body["seat_ids"]) == 3 and len(set(body["seat_ids"])) == 3
    uuid.UUID(body["hold_id"])
    floor = _section(service, "floor")
    assert (floor["free"], floor["held"], floor["sold"]) == (7, 3, 0)


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"section": "floor"},
        {"section": "floor", "quantity": 0},
        {"section": "floor", "quantity": 9},
        {"section": "floor", "quantity": "2"},
        {"section": "floor", "quantity": True},
        {"section": "", "quantity": 1},
    ],
)
def test_malformed_hold_request_is_400(service: Service, body: object) -> None:
    reply = service.post("/events/1/holds", body)
    assert (reply.status, reply.body["error"]) == (400, "bad_request")


def test_hold_body_that_is_not_json_is_400(service: Service) -> None:
    headers = {"Content-Type": "application/json"}
    reply = service.request("POST", "/events/1/holds", headers=headers)
    assert reply.status == 400


def test_unknown_section_is_404(service: Service) -> None:
    reply = service.post("/events/1/holds", {"section": "pit", "quantity": 1})
    assert (reply.status, reply.body["error"]) == (404, "section_not_found")


def test_sold_out_is_409_and_leaves_counts_alone(service: Service) -> None:
    hold(service, "balcony", 5)
    reply = service.post("/events/1/holds", {"section": "balcony", "quantity": 2})
    assert reply.status == 409
    assert reply.body["error"] == "sold_out" and reply.body["free"] == 1
    balcony = _section(service, "balcony")
    assert (balcony["free"], balcony["held"]) == (1, 5)


def test_purchase_confirms_the_held_seats(service: Service) -> None:
    held = hold(service)
    reply = buy(service, held["hold_id"], "key-1")
    assert reply.status == 201
    assert reply.body["status"] == "confirmed"
    assert reply.body["hold_id"] == held["hold_id"] and reply.body["event_id"] == 1
    assert reply.body["seat_ids"] == held["seat_ids"]
    floor = _section(service, "floor")
    assert (floor["free"], floor["held"], floor["sold"]) == (8, 0, 2)


def test_purchase_replayed_with_the_same_key_returns_the_same_booking(
    service: Service, database_url: str
) -> None:
    held = hold(service)
    first = buy(service, held["hold_id"], "same-key")
    again = buy(service, held["hold_id"], "same-key")
    assert (first.status, again.status) == (201, 200)
    assert again.body == first.body
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM bookings").fetchone() == (1,)


def test_purchase_of_a_bought_hold_with_another_key_is_409(service: Service) -> None:
    held = hold(service)
    assert buy(service, held["hold_id"], "first").status == 201
    reply = buy(service, held["hold_id"], "second")
    assert (reply.status, reply.body["error"]) == (409, "hold_already_purchased")


def test_reusing_a_key_for_another_hold_is_409(service: Service) -> None:
    assert buy(service, hold(service)["hold_id"], "reused").status == 201
    reply = buy(service, hold(service)["hold_id"], "reused")
    assert (reply.status, reply.body["error"]) == (409, "idempotency_key_reused")


def test_purchase_without_idempotency_key_is_400(service: Service) -> None:
    reply = service.post(f"/holds/{hold(service)['hold_id']}/purchase")
    assert (reply.status, reply.body["error"]) == (400, "bad_request")


def test_purchase_of_unknown_hold_is_404(service: Service) -> None:
    assert buy(service, str(uuid.uuid4()), "k").status == 404
    assert buy(service, "not-a-uuid", "k").status == 404


def test_expired_hold_cannot_be_bought_and_its_seats_count_as_free(
    service: Service, database_url: str
) -> None:
    held = hold(service, quantity=4)
    _expire(database_url, held["hold_id"])
    assert _section(service, "floor")["free"] == 10
    reply = buy(service, held["hold_id"], "late")
    assert (reply.status, reply.body["error"]) == (409, "hold_expired")


def test_seats_of_an_expired_hold_can_be_held_again(service: Service, database_url: str) -> None:
    first = hold(service, "balcony", 6)
    _expire(database_url, first["hold_id"])
    second = hold(service, "balcony", 6)
    assert sorted(second["seat_ids"]) == sorted(first["seat_ids"])
    assert buy(service, first["hold_id"], "old").body["error"] == "hold_expired"
    assert buy(service, second["hold_id"], "new").status == 201


def test_get_booking_returns_it_and_unknown_is_404(service: Service) -> None:
    bought = buy(service, hold(service)["hold_id"], "k").body
    reply = service.get(f"/bookings/{bought['booking_id']}")
    assert (reply.status, reply.body) == (200, bought)
    assert service.get(f"/bookings/{uuid.uuid4()}").status == 404
    assert service.get("/bookings/nope").status == 404


def test_unknown_route_is_json_404(service: Service) -> None:
    reply = service.get("/nowhere")
    assert reply.status == 404 and reply.body["error"] == "not_found"


def test_metrics_expose_pool_gauges_and_request_counts(service: Service) -> None:
    served = 'booking_http_requests_total{route="/events",status="200"}'
    before = service.metric(served)
    service.get("/events")
    reply = service.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    text = reply.body
    assert service.metric(served) == before + 1
    assert service.metric("booking_db_pool_size") == 5
    assert service.metric("booking_db_pool_connections_in_use") == 0
    assert service.metric("booking_db_pool_connections_idle") >= 1
    assert service.metric("booking_db_pool_requests_waiting") == 0
    assert service.metric("booking_db_pool_acquire_timeouts_total") == 0
    assert service.metric('booking_info{replica="api-1"}') == 1
    assert 'booking_http_request_duration_seconds_bucket{le="0.5",route="/events"}' in text


def test_metrics_expose_the_breaker_the_start_up_and_the_process_start(service: Service) -> None:
    metrics = service.metrics()
    assert metrics["booking_db_breaker_state"] == 0  # no breaker: always closed
    assert metrics["booking_db_breaker_opens_total"] == 0
    assert metrics["booking_db_breaker_fast_failures_total"] == 0
    assert metrics["booking_db_pool_min_size"] == 2
    assert metrics["booking_db_pool_startup_seconds"] >= 0
    assert metrics["booking_db_pool_connections_opened_total"] >= 2
    assert metrics["booking_db_pool_connect_seconds_total"] >= 0  # whole ms, may round to 0
    assert abs(metrics["booking_process_start_time_seconds"] - time.time()) < 600


def test_admin_settings_shows_the_incidents_design_by_default(service: Service) -> None:
    reply = service.get("/admin/settings")
    assert reply.status == 200
    published = reply.body
    assert published["replica"] == "api-1"
    assert published["pool_size"] == 5 and published["pool_min_size"] == 2
    assert (published["breaker"], published["liveness_checks_db"]) == (False, True)
    assert published["acquire_timeout"] == 5.0
    assert published["pool_max_lifetime"] == 3600.0 and published["pool_max_idle"] == 600.0
    assert published["database"]["user"] == "postgres"


def _section(service: Service, name: str) -> dict:
    reply = service.get("/events/1/availability")
    assert reply.status == 200
    return next(s for s in reply.body["sections"] if s["section"] == name)


def _expire(database_url: str, hold_id: str) -> None:
    """Move a hold's deadline into the past, as if its TTL had run out."""
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = %s", (hold_id,)
        )
        conn.execute(
            "UPDATE seats SET held_until = now() - interval '1 second' WHERE hold_id = %s",
            (hold_id,),
        )
