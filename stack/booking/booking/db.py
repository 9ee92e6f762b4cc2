"""The connection pool, and where database failures become ``DatabaseUnavailable``.

Path of a request's SQL::

    handler -> Database.transaction() -> AsyncConnectionPool -> (Toxiproxy) -> PostgreSQL

The pool opens in the background, so the service starts and answers liveness while
the database is down; readiness tells the two apart.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from booking.errors import DatabaseUnavailable
from booking.metrics import Metrics
from booking.settings import ServeSettings

logger = logging.getLogger(__name__)

# A connection that breaks mid-request surfaces as one of these; both mean "the
# database cannot serve this now", never a bug in the request.
_CONNECTION_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError)


class Database:
    """A pool of connections to the booking database, with failure translation."""

    def __init__(self, settings: ServeSettings, metrics: Metrics) -> None:
        self._metrics = metrics
        self._in_use = 0
        self._pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_size,
            timeout=settings.acquire_timeout,
            open=False,
            name=settings.replica,
            # statement_timeout is enforced by the server, so a stalled query cannot
            # keep a pooled connection busy forever; connect_timeout bounds each
            # connection attempt the pool makes in the background.
            kwargs={
                "options": f"-c statement_timeout={int(settings.statement_timeout * 1000)}",
                "connect_timeout": max(1, round(settings.connect_timeout)),
                "application_name": f"booking:{settings.replica}",
            },
        )
        metrics.watch_pool(self._pool.get_stats, lambda: self._in_use)

    async def open(self) -> None:
        """Start the pool's background connection attempts without waiting for them."""
        await self._pool.open(wait=False)

    async def close(self, timeout: float = 1.0) -> None:
        """Close every connection; waits at most ``timeout`` for the pool's workers."""
        await self._pool.close(timeout=timeout)

    @asynccontextmanager
    async def transaction(
        self, timeout: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """Lend a connection inside one transaction: committed on success, else rolled back.

        ``timeout`` overrides the acquire timeout. Pool and connection failures are
        raised as ``DatabaseUnavailable``; the connection always goes back to the pool.
        """
        try:
            async with self._pool.connection(timeout=timeout) as conn:
                self._in_use += 1
                try:
                    async with conn.transaction():
                        yield conn
                finally:
                    self._in_use -= 1
        except PoolTimeout as exc:
            self._metrics.acquire_timeouts.inc()
            raise DatabaseUnavailable(f"no database connection free in time: {exc}") from exc
        except _CONNECTION_ERRORS as exc:
            logger.warning("database error: %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable(f"database error: {type(exc).__name__}") from exc

    async def ping(self, timeout: float) -> None:
        """Run ``SELECT 1`` through the pool; raises ``DatabaseUnavailable`` on failure."""
        async with self.transaction(timeout=timeout) as conn:
            await conn.execute("SELECT 1")
