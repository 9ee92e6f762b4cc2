"""report.html in a real headless Chromium: it renders, the charts appear, nothing leaves.

Chromium runs with every request sent to a recording proxy on 127.0.0.1 that answers
nothing, so no byte reaches the network whatever the page asks for. Chromium makes a
few requests of its own (its clock and account services) even headless; a request the
*page* causes must name a host written in the page, so the test fails when any host
the proxy saw appears in the report. A control page with one external image proves the
proxy sees what a page fetches.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.report.html import write_html
from harness.report.model import load_run

from .runs import Load, make_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    """The browser's path; skipped without it, but a failure in CI, which must install it."""
    if CHROMIUM is None:
        reason = "Chromium is not installed (Debian package 'chromium')"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {reason}; .ci/run must install it")
        pytest.skip(f"{reason}: the HTML report is checked in a real browser")
    return CHROMIUM


class RecordingProxy:
    """A listener that notes the first line of every request and closes the connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2.0)
                try:
                    head = conn.recv(1024).decode("latin-1")
                except OSError:
                    continue
                self.requests.append(head.split("\r\n", 1)[0])

    def hosts(self) -> set[str]:
        """Hosts named by the recorded requests (CONNECT host:port or GET http://host/)."""
        found = set()
        for line in self.requests:
            match = re.match(r"^\w+ (?:\w+://)?([^/:\s]+)", line)
            if match:
                found.add(match.group(1))
        return found

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


def render(browser: str, page: Path, proxy: RecordingProxy, profile: Path) -> str:
    """The DOM after Chromium loaded ``page`` and ran its script."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy.port}",
        "--proxy-bypass-list=<-loopback>",
        "--virtual-time-budget=2000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_proxy_sees_what_a_page_fetches(
    chromium: str, tmp_path: Path, proxy: RecordingProxy
) -> None:
    page = tmp_path / "control.html"
    page.write_text('<html><body><img src="http://leak.invalid/x.png"></body></html>')

    render(chromium, page, proxy, tmp_path / "profile")

    assert "leak.invalid" in proxy.hosts()


def test_report_renders_its_charts_and_fetches_nothing(
    chromium: str, tmp_path: Path, proxy: RecordingProxy
) -> None:
    folder = make_run(tmp_path, Load(seconds=40, fault=(10.0, 25.0)))
    page = write_html(load_run(folder))
    html = page.read_text(encoding="utf-8")

    dom = render(chromium, page, proxy, tmp_path / "profile")

    charts = re.findall(r'<svg class="chart" data-chart="([\w-]+)"', dom)
    assert {"throughput", "error-rate", "latency"} <= set(charts)
    paths = re.findall(r'<path class="series" d="([^"]*)"', dom)
    assert len(paths) >= 6 and all(p.startswith("M") for p in paths)
    assert dom.count('class="fault-window"') == len(charts)
    assert 'id="verdict"' in dom and "FAIL" in dom
    leaked = {host for host in proxy.hosts() if host in html}
    assert not leaked, f"the report made the browser ask for {leaked}"
    assert not re.search(r'(?:src|href)="(?:https?:)?//', dom)
