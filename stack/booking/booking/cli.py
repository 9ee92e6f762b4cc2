"""Command line: ``init-db`` seeds the database, ``serve`` runs one replica.

Exit codes: 0 success, 1 the database or the port could not be used, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import psycopg

from booking.schema import init_db
from booking.server import ServeError, run
from booking.settings import SettingsError, seed_plan, serve_settings_from

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the subcommand, return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging()
    try:
        if args.command == "init-db":
            return _init_db(args)
        return _serve(args)
    except SettingsError as exc:
        parser.error(str(exc))
        return 2  # parser.error exits; this keeps type checkers content


def _init_db(args: argparse.Namespace) -> int:
    sections = seed_plan(args.seats, args.sections)
    try:
        summary = init_db(args.database_url, sections)
    except psycopg.OperationalError as exc:
        print(f"init-db: cannot reach the database: {_first_line(exc)}", file=sys.stderr)
        return 1
    print(summary.line())
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = serve_settings_from(args, dict(os.environ))
    try:
        run(settings)
    except ServeError as exc:
        logger.error("%s; exiting", exc)
        return 1
    return 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # psycopg_pool logs every connection request at INFO: far too much under load.
    logging.getLogger("psycopg").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m booking", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init-db", help="drop, create and seed the schema")
    init.add_argument("--database-url", required=True, help="PostgreSQL URL")
    init.add_argument("--seats", type=int, help="seats of the concert (default 3000)")
    init.add_argument(
        "--sections",
        help="name:seats:price_cents,... (default floor, lower and upper tiers)",
    )

    serve = commands.add_parser("serve", help="run one replica of the HTTP service")
    _add_serve_flags(serve)
    _add_pool_flags(serve)
    _add_resilience_flags(serve)
    return parser


def _add_serve_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", help="listen address (BOOKING_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (BOOKING_PORT, default 8080)")
    serve.add_argument("--database-url", help="PostgreSQL URL (BOOKING_DATABASE_URL)")
    serve.add_argument("--replica", help="replica name in replies and metrics")
    serve.add_argument("--hold-ttl", type=float, help="seconds a hold lasts (default 120)")
    serve.add_argument(
        "--statement-timeout", type=float, help="server-side statement timeout, s (default 5)"
    )
    serve.add_argument(
        "--connect-timeout", type=float, help="seconds per connection attempt (default 5)"
    )


def _add_pool_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--pool-size", type=int, help="max pooled connections (default 100)")
    serve.add_argument(
        "--pool-min-size",
        type=int,
        help="connections opened at start and kept open (default 2, at most the pool size)",
    )
    serve.add_argument(
        "--acquire-timeout", type=float, help="seconds to wait for a connection (default 5)"
    )
    serve.add_argument(
        "--pool-max-lifetime",
        type=float,
        help="seconds before a connection is replaced (default 3600)",
    )
    serve.add_argument(
        "--pool-max-idle",
        type=float,
        help="seconds an unused connection above the minimum is kept (default 600)",
    )


def _add_resilience_flags(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--breaker",
        action=argparse.BooleanOptionalAction,
        help="circuit breaker around the database (default off)",
    )
    serve.add_argument(
        "--breaker-failure-threshold",
        type=int,
        help="consecutive database failures or timeouts that open the breaker (default 5)",
    )
    serve.add_argument(
        "--breaker-reset-timeout",
        type=float,
        help="seconds the breaker stays open before one trial call (default 5)",
    )
    serve.add_argument(
        "--liveness-checks-db",
        action=argparse.BooleanOptionalAction,
        help="/health/live runs SELECT 1 through the pool (default on, the incident's design)",
    )
