"""Choosing and starting the Toxiproxy server: a running one, the real binary, or ours.

Our embedded proxy speaks Toxiproxy 2.12's API, so whichever is chosen the harness
drives it the same way through toxiproxy-python and experiments do not change.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.backends.ports import LOOPBACK
from harness.backends.processes import ManagedProcess
from harness.errors import StackError
from harness.experiment.model import ToxiproxyServer, ToxiproxySpec

log = logging.getLogger(__name__)

URL_ENV = "TOXIPROXY_URL"
BINARY = "toxiproxy-server"
LOOPBACK_HOSTS = ("127.", "localhost", "[::1]")


@dataclass(frozen=True)
class ToxiproxyChoice:
    """The server to use: ``running`` (a URL), ``binary`` (toxiproxy-server) or ``embedded``."""

    kind: str
    url: str | None = None
    binary: str | None = None

    def describe(self) -> dict[str, str | None]:
        """For stack.json."""
        return {"kind": self.kind, "url": self.url, "binary": self.binary}


def choose(spec: ToxiproxySpec, env: Mapping[str, str] | None = None) -> ToxiproxyChoice:
    """Apply the documented order: url, TOXIPROXY_URL, toxiproxy-server on PATH, embedded."""
    env = os.environ if env is None else env
    if spec.server is ToxiproxyServer.embedded:
        return ToxiproxyChoice("embedded")
    if spec.server is ToxiproxyServer.toxiproxy_server:
        binary = shutil.which(BINARY, path=env.get("PATH"))
        if binary is None:
            raise StackError(f"stack.toxiproxy.server is {BINARY!r} but no {BINARY} is on PATH")
        return ToxiproxyChoice("binary", binary=binary)
    url = spec.url or env.get(URL_ENV)
    if url:
        _require_loopback(url)
        return ToxiproxyChoice("running", url=url.rstrip("/"))
    binary = shutil.which(BINARY, path=env.get("PATH"))
    if binary is not None:
        return ToxiproxyChoice("binary", binary=binary)
    return ToxiproxyChoice("embedded")


def _require_loopback(url: str) -> None:
    host = url.split("://", 1)[-1]
    if not host.startswith(LOOPBACK_HOSTS):
        raise StackError(
            f"Toxiproxy URL {url!r} is not on this machine; fault traffic may only go to "
            "127.0.0.0/8 or ::1"
        )


def server_process(choice: ToxiproxyChoice, port: int, log_path: Path) -> ManagedProcess:
    """The process to start for a ``binary`` or ``embedded`` choice, on 127.0.0.1:port."""
    if choice.kind == "binary":
        assert choice.binary is not None
        # -proxy-metrics turns on the byte counters the fault verification reads.
        argv = [choice.binary, "-host", LOOPBACK, "-port", str(port), "-proxy-metrics"]
    elif choice.kind == "embedded":
        argv = [sys.executable, "-m", "harness.proxy", "--host", LOOPBACK, "--port", str(port)]
    else:
        raise StackError(f"a {choice.kind} Toxiproxy is not started by the harness")
    return ManagedProcess("toxiproxy", argv, log_path)
