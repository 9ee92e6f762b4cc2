"""The Docker backend's logic against in-process fakes of the SDK: no engine needed.

Container faults, teardown, image choice and ``harness clean`` decide what to ask the
engine; these fakes record what was asked, so the rules can be checked in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docker.errors import APIError, NotFound

from harness.backends.clean import clean
from harness.backends.docker import DockerStack
from harness.backends.docker_containers import ServiceContainer
from harness.backends.docker_engine import (
    MANAGED_LABEL,
    RUN_LABEL,
    SERVICE_LABEL,
    container_name,
    label_filter,
    labels_for,
    resolve_images,
)
from harness.errors import FaultError
from harness.experiment.model import Backend, ImagesSpec, StackSpec

STATES = {
    "kill": "exited",
    "stop": "exited",
    "start": "running",
    "pause": "paused",
    "unpause": "running",
    "restart": "running",
}


class FakeContainer:
    """Records every call; its state follows the actions as Docker's would."""

    def __init__(self, name: str, status: str = "running", labels: dict[str, str] | None = None):
        self.name = name
        self.id = f"{name}-0123456789abcdef"
        self.labels = labels or {}
        self.calls: list[str] = []
        self.fail_on: str | None = None
        self.gone = False
        self._set(status)

    def _set(self, status: str) -> None:
        self.attrs: dict[str, Any] = {
            "State": {"Status": status, "Running": status == "running", "ExitCode": 0},
            "RestartCount": 0,
            "Config": {"Labels": self.labels},
        }

    def reload(self) -> None:
        if self.gone:
            raise NotFound("gone")

    def _act(self, action: str) -> None:
        self.calls.append(action)
        if self.fail_on == action:
            raise APIError(f"{action} failed")
        self._set(STATES[action])

    def kill(self) -> None:
        self._act("kill")

    def stop(self, timeout: int = 10) -> None:
        self._act("stop")

    def start(self) -> None:
        self._act("start")

    def pause(self) -> None:
        self._act("pause")

    def unpause(self) -> None:
        self._act("unpause")

    def restart(self, timeout: int = 10) -> None:
        self._act("restart")

    def logs(self, stdout: bool = True, stderr: bool = True) -> bytes:
        return f"{self.name} says hello\n".encode()

    def remove(self, force: bool = False, v: bool = False) -> None:
        self.calls.append("remove")
        self.gone = True


class FakeCollection:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.filters: list[Any] = []

    def list(self, all: bool = False, filters: Any = None) -> list[Any]:
        self.filters.append(filters)
        wanted = dict(label.split("=", 1) for label in (filters or {}).get("label", []))
        return [item for item in self.items if not item.gone and all_match(wanted, item.labels)]


def all_match(wanted: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


class FakeClient:
    def __init__(self, containers: list[FakeContainer]) -> None:
        self.containers = FakeCollection(containers)
        self.volumes = FakeCollection([])
        self.networks = FakeCollection([])


def stack_with(tmp_path: Path, *services: str) -> tuple[DockerStack, dict[str, FakeContainer]]:
    replicas = max(1, sum(service.startswith("booking-") for service in services))
    spec = StackSpec(backend=Backend.docker, booking={"replicas": replicas})
    stack = DockerStack(spec, tmp_path, tmp_path, run_id="r1")
    fakes = {}
    for service in services:
        fake = FakeContainer(container_name("r1", service), labels=labels_for("r1", service))
        fakes[service] = fake
        stack.services[service] = ServiceContainer(service, fake, "img")
    stack.client = FakeClient(list(fakes.values()))
    return stack, fakes


# Each action from a state where it does something: (before, action, call, after).
EFFECTS = [
    ("running", "kill", "kill", "exited"),
    ("running", "stop", "stop", "exited"),
    ("exited", "start", "start", "running"),
    ("running", "pause", "pause", "paused"),
    ("paused", "unpause", "unpause", "running"),
    ("paused", "resume", "unpause", "running"),
    ("running", "restart", "restart", "running"),
]


@pytest.mark.parametrize(("before", "action", "call", "after"), EFFECTS)
def test_each_container_action_reaches_the_named_containers_and_is_counted(
    tmp_path: Path, before: str, action: str, call: str, after: str
) -> None:
    stack, fakes = stack_with(tmp_path, "postgres", "booking-1", "booking-2")
    fakes["booking-1"]._set(before)
    fakes["booking-2"]._set(before)

    stack.container_action(action, ["booking-1", "booking-2"])

    assert fakes["booking-1"].calls == [call]
    assert fakes["booking-2"].calls == [call]
    assert fakes["postgres"].calls == []
    containers: Any = stack.describe()["containers"]
    assert containers["booking-1"]["actions"] == {action: 1}
    assert containers["booking-1"]["status"] == after


def test_start_leaves_a_running_replica_alone_and_unpauses_a_paused_one(tmp_path: Path) -> None:
    stack, fakes = stack_with(tmp_path, "booking-1", "booking-2")
    fakes["booking-2"]._set("paused")

    stack.replica_action("booking-1", "start")
    stack.replica_action("booking-2", "start")

    assert fakes["booking-1"].calls == []
    assert fakes["booking-2"].calls == ["unpause"]
    assert stack.describe()["replica_restarts"] == {"booking-1": 0, "booking-2": 0}


@pytest.mark.parametrize("action", ["stop", "restart"])
def test_a_paused_container_is_unpaused_before_it_is_stopped_or_restarted(
    tmp_path: Path, action: str
) -> None:
    stack, fakes = stack_with(tmp_path, "booking-1")
    fakes["booking-1"]._set("paused")

    stack.replica_action("booking-1", action)

    assert fakes["booking-1"].calls == ["unpause", action]


def test_a_replica_brought_back_counts_as_a_restart(tmp_path: Path) -> None:
    stack, fakes = stack_with(tmp_path, "booking-1", "booking-2")

    stack.replica_action("booking-1", "kill")
    stack.replica_action("booking-1", "start")
    stack.replica_action("booking-2", "restart")

    assert fakes["booking-1"].calls == ["kill", "start"]
    assert stack.describe()["replica_restarts"] == {"booking-1": 1, "booking-2": 1}


def test_replica_urls_name_each_replica_on_its_own_loopback_port(tmp_path: Path) -> None:
    spec = StackSpec(backend=Backend.docker, booking={"replicas": 3})
    stack = DockerStack(spec, tmp_path, tmp_path, run_id="r1")

    urls = stack.replica_urls()

    assert list(urls) == ["booking-1", "booking-2", "booking-3"]
    assert len(set(urls.values())) == 3
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())


def test_replicas_are_the_booking_containers_only(tmp_path: Path) -> None:
    spec = StackSpec(backend=Backend.docker, booking={"replicas": 2})
    stack = DockerStack(spec, tmp_path, tmp_path, run_id="r1")

    assert stack.replicas() == ["booking-1", "booking-2"]


def test_an_unknown_action_or_name_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    stack, fakes = stack_with(tmp_path, "booking-1")

    with pytest.raises(FaultError, match="unknown container action 'explode'"):
        stack.container_action("explode", ["booking-1"])
    with pytest.raises(FaultError, match=r"no container for \['booking-9'\]"):
        stack.container_action("kill", ["booking-1", "booking-9"])
    with pytest.raises(FaultError, match="no replica 'postgres'"):
        stack.replica_action("postgres", "kill")

    assert fakes["booking-1"].calls == []


def test_an_engine_error_during_a_container_action_becomes_a_fault_error(tmp_path: Path) -> None:
    stack, fakes = stack_with(tmp_path, "booking-1")
    fakes["booking-1"].fail_on = "pause"

    with pytest.raises(FaultError, match="cannot pause booking-1") as caught:
        stack.container_action("pause", ["booking-1"])

    assert isinstance(caught.value.__cause__, APIError)


def test_stop_keeps_each_log_unpauses_first_and_removes_everything(tmp_path: Path) -> None:
    stack, fakes = stack_with(tmp_path, "postgres", "toxiproxy", "booking-1")
    fakes["booking-1"]._set("paused")
    stray = FakeContainer("cc-r1-stray", "created", labels_for("r1", "booking-2"))
    other_run = FakeContainer("cc-r2-postgres", labels=labels_for("r2", "postgres"))
    stack.client.containers.items += [stray, other_run]

    stack.stop()

    assert fakes["booking-1"].calls == ["unpause", "stop", "remove"]
    assert fakes["postgres"].calls == ["stop", "remove"]
    assert stray.calls == ["remove"]  # created but never tracked: an interrupted start
    assert other_run.calls == []
    for service in ("postgres", "toxiproxy", "booking-1", "booking-2"):
        assert "says hello" in (tmp_path / "logs" / f"{service}.log").read_text()
    containers: Any = stack.describe()["containers"]
    assert containers["booking-1"]["status"] == "exited"
    assert containers["booking-1"]["actions"] == {}


def test_stop_before_start_does_nothing_and_says_how_long(tmp_path: Path) -> None:
    stack = DockerStack(StackSpec(backend=Backend.docker), tmp_path, tmp_path, run_id="r1")

    assert stack.stop() >= 0
    assert stack.describe()["containers"] == {}


def test_image_variables_win_over_the_experiment_which_wins_over_the_defaults() -> None:
    spec = ImagesSpec(booking="mine/booking:1")
    env = {"HARNESS_IMAGE_POSTGRES": "local/postgres:ci", "HARNESS_IMAGE_TOXIPROXY": " "}

    images = resolve_images(spec, env)

    assert images["postgres"].describe() == {"image": "local/postgres:ci", "source": "env"}
    assert images["booking"].describe() == {"image": "mine/booking:1", "source": "experiment"}
    assert images["toxiproxy"].describe() == {
        "image": "ghcr.io/shopify/toxiproxy:2.12.0",
        "source": "default",
    }


def test_labels_name_the_run_and_the_service() -> None:
    assert labels_for("run-7", "postgres") == {
        MANAGED_LABEL: "true",
        RUN_LABEL: "run-7",
        SERVICE_LABEL: "postgres",
    }
    assert label_filter("run-7") == {"label": [f"{MANAGED_LABEL}=true", f"{RUN_LABEL}=run-7"]}
    assert container_name("2025 run/7", "booking-1") == "cc-2025-run-7-booking-1"


def test_clean_removes_only_labelled_containers_of_the_run_asked_for() -> None:
    mine = FakeContainer("cc-a-postgres", labels=labels_for("a", "postgres"))
    other = FakeContainer("cc-b-postgres", labels=labels_for("b", "postgres"))
    foreign = FakeContainer("someone-elses", labels={})
    client = FakeClient([mine, other, foreign])

    removed = clean("a", client=client)

    assert [(r.kind, r.name, r.run_id) for r in removed] == [("container", "cc-a-postgres", "a")]
    assert other.calls == [] and foreign.calls == []
    assert [r.name for r in clean(client=client)] == ["cc-b-postgres"]
    assert foreign.calls == []
