"""Command line of the embedded fault proxy (a stand-in for ``toxiproxy-server``).

::

    python -m harness.proxy --host 127.0.0.1 --port 8474 [--config FILE] [--seed N]
                            [--log-level info]
    harness proxy serve ...  (the same options)

The API listens on 127.0.0.1:8474 by default (Toxiproxy's ``localhost:8474``). Port 0
picks a free port; the first log line on stderr is ``listening on HOST:PORT`` either
way. ``--config`` is a JSON array of proxies applied as ``POST /populate`` would
(an unreadable or invalid file is an error, exit 1, where Toxiproxy only logs it).
SIGTERM and SIGINT stop the server, closing every connection, with exit status 0.
Toxiproxy's single-dash spellings (``-host``, ``-port``, ``-config``, ``-seed``) are
accepted too, and its metrics flags are accepted and ignored (``/metrics`` is always on).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading

from harness.proxy.api import TOXIPROXY_VERSION
from harness.proxy.server import ConfigError, ProxyServer, new_event_loop

__all__ = ["add_arguments", "build_parser", "main", "run"]

logger = logging.getLogger("harness.proxy")

_LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``toxiproxy-server``'s options (and ``--log-level``) to ``parser``.

    For a command that embeds the server, e.g. ``harness proxy serve``: parse with
    the parser, then call :func:`run` with the result.
    """
    add = parser.add_argument
    add("--host", "-host", default="127.0.0.1", help="API address (default: 127.0.0.1)")
    add("--port", "-port", type=int, default=8474, help="API port (8474); 0 picks a free one")
    add("--config", "-config", help="JSON array of proxies to create at start")
    add("--seed", "-seed", type=int, help="seed for toxicity, jitter and slicer choices")
    add(
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        default=os.environ.get("LOG_LEVEL", "info").lower(),
        help="trace|debug|info|warn|error (default: $LOG_LEVEL or info)",
    )
    add("--proxy-metrics", "-proxy-metrics", action="store_true", help="ignored: always on")
    add("--runtime-metrics", "-runtime-metrics", action="store_true", help="ignored")
    add(
        "--version",
        "-version",
        action="version",
        version=f"toxiproxy-server version {TOXIPROXY_VERSION} (harness embedded proxy)",
    )


def build_parser(prog: str = "python -m harness.proxy") -> argparse.ArgumentParser:
    """The command line of the server on its own."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Toxiproxy 2.12 API and its proxies (the harness's embedded "
        "fault proxy).",
    )
    add_arguments(parser)
    return parser


def _python_level(name: str) -> int:
    aliases = {"trace": "DEBUG", "warn": "WARNING", "fatal": "CRITICAL", "panic": "CRITICAL"}
    return int(getattr(logging, aliases.get(name, name.upper())))


def main(argv: list[str] | None = None) -> int:
    """Run the proxy server until SIGTERM/SIGINT; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Serve with options parsed by :func:`add_arguments` until SIGTERM/SIGINT.

    Returns the exit status: 0 after a signal, 1 if the server cannot start.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(_python_level(args.log_level))
    logger.propagate = False  # one line per event even when the caller has a root handler
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_serve(args))
    finally:
        loop.close()
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved


async def _serve(args: argparse.Namespace) -> int:
    server = ProxyServer(args.host, args.port, seed=args.seed, config=args.config)
    try:
        await server.start()
    except ConfigError as exc:
        logger.error("%s", exc)
        return 1
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", args.host, args.port, exc.strerror or exc)
        return 1
    if not logging.getLogger("harness.proxy.server").isEnabledFor(logging.INFO):
        # Callers read the port from this line (for --port 0), whatever the log level.
        print(f"listening on {args.host}:{server.api_port}", file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    signals = _install_signal_handlers(stopping)
    try:
        await stopping.wait()
    finally:
        for signum in signals:
            asyncio.get_running_loop().remove_signal_handler(signum)
        await server.stop()
    return 0


def _install_signal_handlers(stopping: asyncio.Event) -> list[signal.Signals]:
    if threading.current_thread() is not threading.main_thread():
        return []  # only the main thread receives signals; the caller stops us otherwise
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
        installed.append(signum)
    return installed
