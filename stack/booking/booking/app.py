"""The HTTP API: routes, request parsing, and the one place errors become replies."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from booking.db import Database
from booking.errors import BookingError, DatabaseUnavailable, InvalidRequest, NotFound
from booking.metrics import CONTENT_TYPE, Metrics
from booking.settings import ServeSettings
from booking.store import Store

logger = logging.getLogger(__name__)

MAX_QUANTITY = 8
MAX_IDEMPOTENCY_KEY = 200
PROBE_TIMEOUT = 1.0  # readiness, and liveness when it checks the database
_MAX_EVENT_ID = 2**31 - 1  # events.id is a PostgreSQL integer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DATABASE_KEY = web.AppKey("database", Database)
STORE_KEY = web.AppKey("store", Store)
METRICS_KEY = web.AppKey("metrics", Metrics)
REPLICA_KEY = web.AppKey("replica", str)
SETTINGS_KEY = web.AppKey("settings", ServeSettings)


class ReadinessLog:
    """Logs readiness only when it flips, so a probe every second does not flood the log."""

    def __init__(self) -> None:
        self._ready: bool | None = None

    def record(self, ready: bool, reason: str = "") -> None:
        """Note the outcome of one probe; log it if it differs from the previous one."""
        if ready == self._ready:
            return
        self._ready = ready
        if ready:
            logger.info("ready: the database answers")
        else:
            logger.warning("not ready: %s", reason)


READINESS_KEY = web.AppKey("readiness", ReadinessLog)


def build_app(database: Database, metrics: Metrics, settings: ServeSettings) -> web.Application:
    """The aiohttp application of one replica."""
    app = web.Application(middlewares=[_observe])
    app[DATABASE_KEY] = database
    app[STORE_KEY] = Store(database, settings.hold_ttl)
    app[METRICS_KEY] = metrics
    app[REPLICA_KEY] = settings.replica
    app[SETTINGS_KEY] = settings
    app[READINESS_KEY] = ReadinessLog()
    app.add_routes(
        [
            web.get("/health/live", live),
            web.get("/health/ready", ready),
            web.get("/metrics", metrics_page),
            web.get("/admin/settings", admin_settings),
            web.get("/events", list_events),
            web.get(r"/events/{event_id:\d+}/availability", availability),
            web.post(r"/events/{event_id:\d+}/holds", create_hold),
            web.post("/holds/{hold_id}/purchase", purchase),
            web.get("/bookings/{booking_id}", get_booking),
        ]
    )
    return app


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every outcome into a JSON reply and count it in the metrics."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except BookingError as exc:
        response = _error_reply(exc)
    except web.HTTPException as exc:
        response = web.json_response(
            {"error": exc.reason.lower().replace(" ", "_")}, status=exc.status
        )
    except Exception:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        response = web.json_response({"error": "internal_error"}, status=500)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    request.app[METRICS_KEY].observe(route, response.status, time.perf_counter() - started)
    return response


def _error_reply(exc: BookingError) -> web.Response:
    headers = None
    if isinstance(exc, DatabaseUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    return web.json_response(exc.payload(), status=exc.status, headers=headers)


async def live(request: web.Request) -> web.Response:
    """Liveness: the process answers and, when ``liveness_checks_db`` is on, so does the DB.

    Checking the database here is the incident's design: a saturated pool or a slow
    database fails liveness, and the orchestrator restarts a replica that was fine.
    """
    replica = request.app[REPLICA_KEY]
    if request.app[SETTINGS_KEY].liveness_checks_db:
        reason = await _probe_database(request)
        if reason is not None:
            return _unavailable(replica, reason)
    return web.json_response({"status": "ok", "replica": replica})


async def ready(request: web.Request) -> web.Response:
    """Readiness: ``SELECT 1`` through the pool (and the breaker) answers within a second."""
    replica = request.app[REPLICA_KEY]
    reason = await _probe_database(request)
    request.app[READINESS_KEY].record(reason is None, reason or "")
    if reason is not None:
        return _unavailable(replica, reason)
    return web.json_response({"status": "ready", "replica": replica})


async def _probe_database(request: web.Request) -> str | None:
    """Run ``SELECT 1`` with a deadline; None when it succeeded, else why it did not.

    The probe runs as its own task so a stalled connection cannot hold the reply
    past the deadline; a late probe finishes (or fails) in the background.
    """
    probe = asyncio.ensure_future(request.app[DATABASE_KEY].ping(timeout=PROBE_TIMEOUT))
    done, _ = await asyncio.wait({probe}, timeout=PROBE_TIMEOUT)
    if not done:
        probe.add_done_callback(_discard_outcome)
        return f"database did not answer SELECT 1 within {PROBE_TIMEOUT:.0f} s"
    error = probe.exception()
    if error is None:
        return None
    if not isinstance(error, DatabaseUnavailable):
        raise error
    return error.message


def _unavailable(replica: str, reason: str) -> web.Response:
    payload = {"status": "unavailable", "reason": reason, "replica": replica}
    return web.json_response(payload, status=503, headers={"Retry-After": "1"})


def _discard_outcome(task: asyncio.Future[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved


async def metrics_page(request: web.Request) -> web.Response:
    """Prometheus text exposition of this replica's registry."""
    body = request.app[METRICS_KEY].exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def admin_settings(request: web.Request) -> web.Response:
    """The settings this replica runs with (no secrets), for the harness's records."""
    return web.json_response(request.app[SETTINGS_KEY].public())


async def list_events(request: web.Request) -> web.Response:
    """Every event on sale."""
    events = await request.app[STORE_KEY].list_events()
    return web.json_response({"events": [event.as_json() for event in events]})


async def availability(request: web.Request) -> web.Response:
    """Free, held and sold seats per section of one event."""
    event_id = _event_id(request)
    seats = await request.app[STORE_KEY].availability(event_id)
    return web.json_response(seats.as_json())


async def create_hold(request: web.Request) -> web.Response:
    """Hold 1..8 seats of one section for the hold TTL."""
    event_id = _event_id(request)
    section, quantity = _hold_request(await _json_object(request))
    hold = await request.app[STORE_KEY].create_hold(event_id, section, quantity)
    return web.json_response(hold.as_json(), status=201)


async def purchase(request: web.Request) -> web.Response:
    """Buy a hold; 201 the first time, 200 when the Idempotency-Key is replayed."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise InvalidRequest("the Idempotency-Key header is required")
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} characters")
    hold_id = _uuid(request, "hold_id", "hold_not_found")
    outcome = await request.app[STORE_KEY].purchase(hold_id, key)
    return web.json_response(outcome.booking.as_json(), status=201 if outcome.created else 200)


async def get_booking(request: web.Request) -> web.Response:
    """One confirmed booking."""
    booking_id = _uuid(request, "booking_id", "booking_not_found")
    booking = await request.app[STORE_KEY].get_booking(booking_id)
    return web.json_response(booking.as_json())


def _event_id(request: web.Request) -> int:
    event_id = int(request.match_info["event_id"])
    if event_id > _MAX_EVENT_ID:
        raise NotFound("event_not_found", f"no event {event_id}", event_id=event_id)
    return event_id


def _uuid(request: web.Request, name: str, not_found_code: str) -> uuid.UUID:
    raw = request.match_info[name]
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise NotFound(not_found_code, f"no {name.split('_')[0]} {raw!r}") from exc


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def _hold_request(body: dict[str, Any]) -> tuple[str, int]:
    section, quantity = body.get("section"), body.get("quantity")
    if not isinstance(section, str) or not section:
        raise InvalidRequest('"section" must be a non-empty string')
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidRequest(f'"quantity" must be an integer from 1 to {MAX_QUANTITY}')
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidRequest(f'"quantity" must be from 1 to {MAX_QUANTITY}, got {quantity}')
    return section, quantity
