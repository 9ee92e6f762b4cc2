"""Command line of the embedded fault proxy (a stand-in for ``toxiproxy-server``).

::

    python -m harness.proxy --host 127.0.0.1 --port 8474 [--config FILE] [--seed N]
                            [--log-level info]

Port 0 picks a free port; the first log line on stderr is ``listening on HOST:PORT``
either way. ``--config`` is a JSON array of proxies applied as ``POST /populate`` would
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

__all__ = ["main"]

logger = logging.getLogger("harness.proxy")

_LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness.proxy",
        description="Serve the Toxiproxy 2.12 API and its proxies (the harness's embedded "
        "fault proxy).",
    )
    parser.add_argument("--host", "-host", default="127.0.0.1", help="API address (127.0.0.1)")
    parser.add_argument("--port", "-port", type=int, default=8474, help="API port; 0 = any free")
    parser.add_argument("--config", "-config", help="JSON array of proxies to create at start")
    parser.add_argument("--seed", "-seed", type=int, help="seed for toxicity, jitter, slicing")
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=_LOG_LEVELS,
        default=os.environ.get("LOG_LEVEL", "info").lower(),
        help="trace|debug|info|warn|error (default: $LOG_LEVEL or info)",
    )
    parser.add_argument("--proxy-metrics", "-proxy-metrics", action="store_true", help="ignored")
    parser.add_argument(
        "--runtime-metrics", "-runtime-metrics", action="store_true", help="ignored"
    )
    parser.add_argument(
        "--version",
        "-version",
        action="version",
        version=f"toxiproxy-server version {TOXIPROXY_VERSION} (harness embedded proxy)",
    )
    return parser


def _python_level(name: str) -> int:
    aliases = {"trace": "DEBUG", "warn": "WARNING", "fatal": "CRITICAL", "panic": "CRITICAL"}
    return int(getattr(logging, aliases.get(name, name.upper())))


def main(argv: list[str] | None = None) -> int:
    """Run the proxy server until SIGTERM/SIGINT; return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error
        return exc.code if isinstance(exc.code, int) else 2
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
