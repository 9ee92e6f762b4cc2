"""Which Toxiproxy the stack uses: a given URL, TOXIPROXY_URL, toxiproxy-server, or ours."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
import requests

from harness.backends.local import DB_PROXY, LocalStack
from harness.backends.toxiproxy_server import choose
from harness.errors import StackError
from harness.experiment.model import StackSpec, ToxiproxySpec
from harness.faults.toxiproxy import ToxiproxyClient
from harness.proxy import ProxyServerThread

ROOT = Path(__file__).resolve().parents[2]


def fake_binary(folder: Path) -> Path:
    """A ``toxiproxy-server`` that is really our proxy (it takes Toxiproxy's flags)."""
    script = folder / "toxiproxy-server"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m harness.proxy "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_with_nothing_configured_the_embedded_proxy_is_used(tmp_path: Path) -> None:
    choice = choose(ToxiproxySpec(), env={"PATH": str(tmp_path)})
    assert choice.kind == "embedded"


def test_a_toxiproxy_server_on_path_is_preferred_to_ours(tmp_path: Path) -> None:
    binary = fake_binary(tmp_path)
    choice = choose(ToxiproxySpec(), env={"PATH": str(tmp_path)})
    assert (choice.kind, choice.binary) == ("binary", str(binary))


def test_the_environment_url_wins_over_a_binary(tmp_path: Path) -> None:
    fake_binary(tmp_path)
    env = {"PATH": str(tmp_path), "TOXIPROXY_URL": "http://127.0.0.1:8474"}
    assert choose(ToxiproxySpec(), env=env).url == "http://127.0.0.1:8474"


def test_the_experiment_url_wins_over_the_environment() -> None:
    spec = ToxiproxySpec(url="http://127.0.0.1:9999")
    env = {"PATH": "", "TOXIPROXY_URL": "http://127.0.0.1:8474"}
    assert choose(spec, env=env).url == "http://127.0.0.1:9999"


def test_embedded_can_be_forced_over_everything(tmp_path: Path) -> None:
    fake_binary(tmp_path)
    env = {"PATH": str(tmp_path), "TOXIPROXY_URL": "http://127.0.0.1:8474"}
    assert choose(ToxiproxySpec(server="embedded"), env=env).kind == "embedded"


def test_asking_for_the_binary_without_one_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="no toxiproxy-server is on PATH"):
        choose(ToxiproxySpec(server="toxiproxy-server"), env={"PATH": str(tmp_path)})


def test_a_url_off_this_machine_is_refused() -> None:
    with pytest.raises(StackError, match=r"127\.0\.0\.0/8"):
        choose(ToxiproxySpec(), env={"PATH": "", "TOXIPROXY_URL": "http://10.1.2.3:8474"})


@pytest.mark.e2e
def test_the_stack_runs_behind_a_toxiproxy_server_found_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_binary(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    stack = LocalStack(StackSpec(), ROOT / "stack" / "booking", tmp_path / "run")
    try:
        endpoints = stack.start()
        described = stack.describe()["toxiproxy"]
        proxies = ToxiproxyClient(endpoints.toxiproxy_url).proxy(DB_PROXY)
    finally:
        stack.stop()

    assert described["kind"] == "binary"
    assert described["binary"] == str(bin_dir / "toxiproxy-server")
    assert proxies["enabled"] is True


@pytest.mark.e2e
def test_the_stack_uses_a_running_toxiproxy_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    with ProxyServerThread() as running:
        client = ToxiproxyClient(running.url)
        client.create_proxy("someone-elses", "127.0.0.1:0", "127.0.0.1:9")
        spec = StackSpec(toxiproxy=ToxiproxySpec(url=running.url))
        stack = LocalStack(spec, ROOT / "stack" / "booking", tmp_path / "run")
        try:
            stack.start()
            during = set(_names(client))
        finally:
            stack.stop()
        after = set(_names(client))

    assert stack.proxy_server is None  # nothing was started
    assert during == {DB_PROXY, "someone-elses"}
    assert after == {"someone-elses"}


def _names(client: ToxiproxyClient) -> list[str]:
    return list(requests.get(f"{client.url}/proxies", timeout=5).json())
