"""The connection pool, the circuit breaker, and where database failures become 503s.

Path of a request's SQL::

    handler -> Database.transaction() -> [circuit breaker] -> AsyncConnectionPool
            -> (Toxiproxy) -> PostgreSQL

The pool opens in the background, so the service starts and answers while the
database is down; readiness tells the two apart. At start the pool opens its minimum
of connections at once (psycopg_pool's three workers, each connecting in turn), so N
replicas restarting together open N x min_size connections against the database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from booking.breaker import BreakerState, CircuitBreaker, CircuitOpen
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
        self._waiting = 0
        self._min_size = settings.pool_min_size
        self._opened = 0
        self._started_at = time.monotonic()
        self._startup_seconds: float | None = None
        self._pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_size,
            timeout=settings.acquire_timeout,
            max_lifetime=settings.pool_max_lifetime,
            max_idle=settings.pool_max_idle,
            open=False,
            name=settings.replica,
            configure=self._on_connect,
            # statement_timeout is enforced by the server, so a stalled query cannot
            # keep a pooled connection busy forever; connect_timeout bounds each
            # connection attempt the pool makes in the background.
            kwargs={
                "options": f"-c statement_timeout={int(settings.statement_timeout * 1000)}",
                "connect_timeout": max(1, round(settings.connect_timeout)),
                "application_name": f"booking:{settings.replica}",
            },
        )
        self._breaker = _breaker(settings, metrics)
        metrics.watch_pool(self)
        metrics.watch_breaker(lambda: self.breaker_state)

    @property
    def breaker_state(self) -> BreakerState:
        """The circuit breaker's state; always closed when the breaker is off."""
        return BreakerState.CLOSED if self._breaker is None else self._breaker.state

    async def open(self) -> None:
        """Start the pool's background connection attempts without waiting for them."""
        self._started_at = time.monotonic()
        if self._min_size == 0:
            self._startup_seconds = 0.0  # nothing to open before the first request
        await self._pool.open(wait=False)
        logger.info(
            "pool: opening %d connections now, up to %d on demand",
            self._min_size,
            self._pool.max_size,
        )

    async def close(self, timeout: float = 1.0) -> None:
        """Close every connection; waits at most ``timeout`` for the pool's workers."""
        await self._pool.close(timeout=timeout)

    @asynccontextmanager
    async def transaction(
        self, timeout: float | None = None
    ) -> AsyncIterator[psycopg.AsyncConnection]:
        """Lend a connection inside one transaction: committed on success, else rolled back.

        ``timeout`` overrides the acquire timeout. With the breaker open this fails at
        once without asking the pool. Pool and connection failures are raised as
        ``DatabaseUnavailable``; the connection always goes back to the pool.
        """
        try:
            with self._guard():
                conn = await self._acquire(timeout)
                self._in_use += 1
                try:
                    async with conn.transaction():
                        yield conn
                except _CONNECTION_ERRORS as exc:
                    logger.warning("database error: %s: %s", type(exc).__name__, exc)
                    raise _unavailable(exc) from exc
                finally:
                    self._in_use -= 1
                    await self._pool.putconn(conn)
        except CircuitOpen as exc:
            self._metrics.breaker_fast_failures.inc()
            raise DatabaseUnavailable(
                f"{exc}: failing fast", reason="breaker_open", retry_after=exc.retry_after
            ) from exc

    async def ping(self, timeout: float) -> None:
        """Run ``SELECT 1`` through the pool; raises ``DatabaseUnavailable`` on failure."""
        async with self.transaction(timeout=timeout) as conn:
            await conn.execute("SELECT 1")

    def pool_stats(self) -> dict[str, int]:
        """psycopg_pool's statistics, for the metrics."""
        return self._pool.get_stats()

    def in_use(self) -> int:
        """Connections lent to requests right now."""
        return self._in_use

    def waiting(self) -> int:
        """Requests waiting for a connection right now."""
        return self._waiting

    def startup_seconds(self) -> float | None:
        """Seconds until the pool first held its minimum of connections; None until then."""
        return self._startup_seconds

    def _guard(self) -> AbstractContextManager[None]:
        return nullcontext() if self._breaker is None else self._breaker.guard()

    async def _acquire(self, timeout: float | None) -> psycopg.AsyncConnection:
        """A connection from the pool; a request that gives up leaves nothing behind."""
        self._waiting += 1
        try:
            return await self._pool.getconn(timeout)
        except PoolTimeout as exc:
            self._metrics.acquire_timeouts.inc()
            raise DatabaseUnavailable(
                f"no database connection free in time: {exc}", reason="acquire_timeout"
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise _unavailable(exc) from exc
        finally:
            self._waiting -= 1

    async def _on_connect(self, conn: psycopg.AsyncConnection) -> None:
        """Called by the pool for each new connection: notes when the start-up fill ends."""
        self._opened += 1
        if self._startup_seconds is None and self._opened >= self._min_size:
            self._startup_seconds = time.monotonic() - self._started_at
            logger.info(
                "pool: %d of %d start connections open after %.2f s",
                self._opened,
                self._min_size,
                self._startup_seconds,
            )


def _unavailable(exc: Exception) -> DatabaseUnavailable:
    reason = (
        "statement_timeout" if isinstance(exc, psycopg.errors.QueryCanceled) else "database_error"
    )
    return DatabaseUnavailable(f"database error: {type(exc).__name__}", reason=reason)


def _breaker(settings: ServeSettings, metrics: Metrics) -> CircuitBreaker | None:
    if not settings.breaker:
        return None

    def count_opens(old: BreakerState, new: BreakerState) -> None:
        if new is BreakerState.OPEN:
            metrics.breaker_opens.inc()

    return CircuitBreaker(
        settings.breaker_failure_threshold,
        settings.breaker_reset_timeout,
        lambda error: isinstance(error, DatabaseUnavailable),
        listener=count_opens,
    )
