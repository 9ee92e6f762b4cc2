"""The life of one replica: start without the database, serve, stop cleanly on a signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from booking.app import build_app
from booking.db import Database
from booking.metrics import Metrics
from booking.settings import ServeSettings

logger = logging.getLogger(__name__)

# In-flight requests get this long to finish on shutdown; with the pool's close
# timeout the whole stop stays within about two seconds.
SHUTDOWN_GRACE = 0.5
POOL_CLOSE_TIMEOUT = 0.5


class ServeError(RuntimeError):
    """The replica could not start (for instance, its port is taken)."""


def run(settings: ServeSettings) -> None:
    """Serve until SIGTERM or SIGINT, then close the listener and the pool."""
    asyncio.run(_serve(settings))


async def _serve(settings: ServeSettings) -> None:
    metrics = Metrics(settings.replica)
    database = Database(settings, metrics)
    app = build_app(database, metrics, settings)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE
    )
    await runner.setup()
    logger.info(
        "replica %s: pool of up to %d connections opening in the background "
        "(acquire timeout %.1f s, statement timeout %.1f s, max lifetime %.0f s); %s; %s",
        settings.replica,
        settings.pool_size,
        settings.acquire_timeout,
        settings.statement_timeout,
        settings.pool_max_lifetime,
        _breaker_summary(settings),
        "liveness checks the database" if settings.liveness_checks_db else "liveness is local",
    )
    await database.open()
    try:
        await _listen(runner, settings)
        await _wait_for_stop_signal()
    finally:
        logger.info("replica %s: stopping", settings.replica)
        await runner.cleanup()
        await database.close(timeout=POOL_CLOSE_TIMEOUT)
        logger.info("replica %s: stopped", settings.replica)


def _breaker_summary(settings: ServeSettings) -> str:
    if not settings.breaker:
        return "no circuit breaker"
    return (
        f"circuit breaker opens after {settings.breaker_failure_threshold} failures, "
        f"trial after {settings.breaker_reset_timeout:g} s"
    )


async def _listen(runner: web.AppRunner, settings: ServeSettings) -> None:
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        raise ServeError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    for host, port in (address[:2] for address in runner.addresses):
        logger.info("replica %s: listening on http://%s:%d", settings.replica, host, port)


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
