"""Docker test fixtures: an engine that answers and the images, or a loud reason why not.

In CI (``CI`` set) the Docker tests must run: a missing engine or image fails them.
Elsewhere they are skipped with a sentence saying how to enable them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

from harness.backends.docker_engine import label_filter, resolve_images
from harness.experiment.model import ImagesSpec

HOW_TO = (
    "start a Docker engine (`dockerd --bridge=none --iptables=false --ip-masq=false &`), "
    "build the images with `source <(stack/images/build.sh)`, or run with CI=true to make "
    "this a failure"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {reason}; .ci/run must start the engine and build the images")
    pytest.skip(f"{reason}: {HOW_TO}")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of a running engine on which every image the stack needs exists."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except DockerException as exc:
        _unavailable(f"no Docker engine answers ({exc})")
    for choice in resolve_images(ImagesSpec()).values():
        try:
            client.images.get(choice.image)
        except ImageNotFound:
            _unavailable(f"image {choice.image} for {choice.service} is not built")
    yield client
    client.close()


def labelled(client: Any) -> list[str]:
    """Names of every container carrying the harness's label, running or not."""
    return sorted(c.name for c in client.containers.list(all=True, filters=label_filter()))


@pytest.fixture
def no_leftovers(docker_client: Any) -> Iterator[Any]:
    """Fails the test if a labelled container is left once it ends."""
    before = set(labelled(docker_client))
    yield docker_client
    left = set(labelled(docker_client)) - before
    assert not left, f"labelled containers survived the test: {sorted(left)}"
