"""Run in a subprocess by the tests: classify what Locust's FastHttpSession really reports.

Usage: ``python real_errors_probe.py NAME=URL ...``; prints one JSON object mapping
each NAME to the outcome our classifier gives the request event Locust fires for a GET
of URL. Importing Locust monkey-patches the process with gevent, hence the subprocess.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from harness.load.outcomes import classify

TIMEOUT = 0.5


def main(targets: list[str]) -> None:
    """Request each target once and print the outcomes."""
    outcomes: dict[str, str] = {}
    current = {"name": ""}

    def on_request(response: Any = None, exception: BaseException | None = None, **_: Any) -> None:
        status = getattr(response, "status_code", 0) or 0
        outcomes[current["name"]] = classify(status, exception).value

    hook = EventHook()  # type: ignore[no-untyped-call]  # Locust leaves it unannotated
    hook.add_listener(on_request)  # type: ignore[no-untyped-call]
    session = FastHttpSession(
        base_url=None,
        request_event=hook,
        user=None,
        network_timeout=TIMEOUT,
        connection_timeout=TIMEOUT,
        max_retries=0,
    )
    for target in targets:
        name, url = target.split("=", 1)
        current["name"] = name
        session.request("POST" if name.startswith("post") else "GET", url)
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main(sys.argv[1:])
