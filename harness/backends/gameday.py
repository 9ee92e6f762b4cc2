"""Game days: a stack kept up between experiments, and experiments run against it.

``harness stack up FILE --name N`` brings the experiment's stack up and keeps it up in
that process (the owner) until ``harness stack down N`` or Ctrl-C, so a team can run
experiment after experiment, adapt them in between, and watch the same stack. The
owner writes ``results/stacks/N/state.json`` (addresses, replicas, the owner's control
address) and answers a small control API on 127.0.0.1:

    GET  /status                     the stack's description and its replicas
    POST /replicas/<name>/<action>   kill, stop, start, pause, resume or restart one
    POST /shutdown                   take the stack down and exit

``harness run FILE --stack N`` then runs against it through an :class:`AttachedStack`:
faults, the supervisor and the integrity check work as usual; the stack stays up.
Both backends work the same way, since the owner holds the real stack object.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.backends.base import Stack, StackEndpoints
from harness.backends.processes import http_ok
from harness.errors import HarnessError, StackError

log = logging.getLogger(__name__)

STATE = "state.json"
DOWN_TIMEOUT = 60.0


def stack_dir(results: Path, name: str) -> Path:
    """Where a kept-up stack's state and logs live."""
    return results / "stacks" / name


def read_state(results: Path, name: str) -> dict[str, Any]:
    """The state of a stack that is up; StackError naming the stacks that are."""
    path = stack_dir(results, name) / STATE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        up = ", ".join(list_stacks(results)) or "none"
        raise StackError(
            f"no stack {name!r} is up (stacks up: {up}); start one with "
            "`harness stack up FILE --name NAME`"
        ) from exc


def list_stacks(results: Path) -> list[str]:
    """Names of the stacks with a state file."""
    root = results / "stacks"
    return sorted(p.parent.name for p in root.glob(f"*/{STATE}")) if root.is_dir() else []


def _handler(stack: Stack, stopping: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Control(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: Any = None) -> None:
            data = json.dumps(body if body is not None else {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path != "/status":
                self._answer(404, {"error": "not found"})
                return
            self._answer(200, {"stack": stack.describe(), "replicas": stack.replica_urls()})

        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts == ["shutdown"]:
                stopping.set()
                self._answer(202, {"status": "stopping"})
            elif len(parts) == 3 and parts[0] == "replicas":
                try:
                    stack.replica_action(parts[1], parts[2])
                except HarnessError as exc:
                    self._answer(400, {"error": str(exc)})
                    return
                self._answer(200, {"replica": parts[1], "action": parts[2]})
            else:
                self._answer(404, {"error": "not found"})

        def log_message(self, *args: object) -> None:
            pass

    return Control


def serve(stack: Stack, workdir: Path, name: str, backend: str) -> None:
    """Bring ``stack`` up and keep it up until /shutdown or Ctrl-C; always take it down."""
    stopping = threading.Event()
    state_path = workdir / STATE
    server: ThreadingHTTPServer | None = None
    try:
        endpoints = stack.start()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stack, stopping))
        threading.Thread(target=server.serve_forever, name="stack-control", daemon=True).start()
        state = {
            "name": name,
            "backend": backend,
            "pid": os.getpid(),
            "started_at": time.time(),
            "control": f"http://127.0.0.1:{server.server_address[1]}",
            "endpoints": endpoints.__dict__,
            "replicas": stack.replica_urls(),
        }
        state_path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        log.info(
            "stack %s is up: booking %s, Toxiproxy %s; `harness stack down %s` ends it",
            name,
            endpoints.booking_url,
            endpoints.toxiproxy_url,
            name,
        )
        while not stopping.wait(0.5):
            pass
        log.info("stack %s: shutdown asked", name)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        state_path.unlink(missing_ok=True)
        stack.stop()


def _control(state: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    request = urllib.request.Request(state["control"] + path, method=method, data=b"")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise StackError(
            f"stack {state['name']}: {method} {path} answered {exc.code}: {detail}"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise StackError(
            f"stack {state['name']} does not answer at {state['control']}: {exc}"
        ) from exc


def stop_stack(results: Path, name: str) -> float:
    """Ask the owner to take the stack down; wait until it has. Seconds it took."""
    state = read_state(results, name)
    started = time.monotonic()
    _control(state, "POST", "/shutdown")
    state_path = stack_dir(results, name) / STATE
    while state_path.exists():
        if time.monotonic() - started > DOWN_TIMEOUT:
            raise StackError(
                f"stack {name} did not go down within {DOWN_TIMEOUT:g}s (owner pid {state['pid']})"
            )
        time.sleep(0.1)
    return time.monotonic() - started


def status(results: Path, name: str) -> dict[str, Any]:
    """What the owner says of its stack, and whether booking answers."""
    state = read_state(results, name)
    report = _control(state, "GET", "/status")
    report["name"] = name
    report["booking_ready"] = http_ok(state["endpoints"]["booking_url"] + "/health/ready")
    return report


class AttachedStack:
    """A stack kept up by ``harness stack up``: used by a run, never started or stopped."""

    def __init__(self, results: Path, name: str) -> None:
        self.state = read_state(results, name)
        self.endpoints: StackEndpoints | None = None

    def start(self) -> StackEndpoints:
        """The running stack's addresses, once booking answers its readiness probe."""
        self.endpoints = StackEndpoints(**self.state["endpoints"])
        if not http_ok(self.endpoints.booking_url + "/health/ready", timeout=5):
            raise StackError(
                f"stack {self.state['name']} is up but booking is not ready at "
                f"{self.endpoints.booking_url}"
            )
        log.info("attached to stack %s (%s backend)", self.state["name"], self.state["backend"])
        return self.endpoints

    def stop(self) -> float:
        """Nothing to stop: the stack stays up for the next experiment."""
        return 0.0

    def describe(self) -> dict[str, object]:
        """The stack as its owner describes it."""
        return {
            "backend": "attached",
            "stack": self.state["name"],
            "owner": _control(self.state, "GET", "/status").get("stack", {}),
        }

    def replica_urls(self) -> dict[str, str]:
        """The replicas recorded when the stack came up."""
        return dict(self.state["replicas"])

    def replica_action(self, name: str, action: str) -> None:
        """Ask the owner to act on one replica."""
        _control(self.state, "POST", f"/replicas/{name}/{action}")
