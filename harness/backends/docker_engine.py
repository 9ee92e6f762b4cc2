"""The Docker engine as the harness sees it: connecting, labels, images.

Every container the harness creates carries two labels, ``concert-chaos.managed=true``
and ``concert-chaos.run=<run id>``, so a run (or ``harness clean`` after a killed run)
can find and remove exactly what it made, and nothing else on the machine.

Docker SDK errors never leave this package: they become ``StackError`` with a sentence
saying what to do.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import DockerException, ImageNotFound

from harness.errors import StackError
from harness.experiment.model import ImagesSpec

log = logging.getLogger(__name__)

MANAGED_LABEL = "concert-chaos.managed"
RUN_LABEL = "concert-chaos.run"
SERVICE_LABEL = "concert-chaos.service"

# The environment wins over the experiment, so CI can point every run at local images.
IMAGE_ENV = {
    "postgres": "HARNESS_IMAGE_POSTGRES",
    "toxiproxy": "HARNESS_IMAGE_TOXIPROXY",
    "booking": "HARNESS_IMAGE_BOOKING",
}
BUILD_HINT = "stack/images/build.sh builds every image offline"
ENGINE_HINT = (
    "start one (e.g. `dockerd --bridge=none --iptables=false --ip-masq=false &`) or set DOCKER_HOST"
)


def connect(timeout: float = 60.0) -> Any:
    """A Docker client whose engine has answered a ping."""
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except DockerException as exc:
        raise StackError(f"no Docker engine answers: {exc}; {ENGINE_HINT}") from exc
    return client


def labels_for(run_id: str, service: str) -> dict[str, str]:
    """The labels of one container of a run."""
    return {MANAGED_LABEL: "true", RUN_LABEL: run_id, SERVICE_LABEL: service}


def label_filter(run_id: str | None = None) -> dict[str, list[str]]:
    """A Docker ``filters`` value matching the harness's objects (of one run, if given)."""
    labels = [f"{MANAGED_LABEL}=true"]
    if run_id is not None:
        labels.append(f"{RUN_LABEL}={run_id}")
    return {"label": labels}


def container_name(run_id: str, service: str) -> str:
    """A readable, valid container name: ``cc-<run id>-<service>``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"cc-{run_id}-{service}")


@dataclass(frozen=True)
class ImageChoice:
    """The image one service runs, and where that choice came from."""

    service: str
    image: str
    source: str  # "env", "experiment" or "default"

    def describe(self) -> dict[str, str]:
        """For stack.json."""
        return {"image": self.image, "source": self.source}


def resolve_images(
    spec: ImagesSpec, env: Mapping[str, str] | None = None
) -> dict[str, ImageChoice]:
    """Each service's image: ``HARNESS_IMAGE_<SERVICE>``, else the experiment's value."""
    env = os.environ if env is None else env
    defaults = ImagesSpec()
    choices = {}
    for service, variable in IMAGE_ENV.items():
        from_env = env.get(variable, "").strip()
        if from_env:
            choices[service] = ImageChoice(service, from_env, "env")
            continue
        image = str(getattr(spec, service))
        source = "default" if image == getattr(defaults, service) else "experiment"
        choices[service] = ImageChoice(service, image, source)
    return choices


def ensure_image(client: Any, choice: ImageChoice) -> None:
    """Make sure the image is on this machine, pulling it if it is not."""
    try:
        client.images.get(choice.image)
        return
    except ImageNotFound:
        pass
    except DockerException as exc:
        raise StackError(f"cannot inspect image {choice.image}: {exc}") from exc
    log.info("pulling %s for %s", choice.image, choice.service)
    try:
        client.images.pull(choice.image)
    except DockerException as exc:
        raise StackError(
            f"image {choice.image} for {choice.service} is not on this machine and cannot "
            f"be pulled ({exc}); build it ({BUILD_HINT}) or name another with "
            f"{IMAGE_ENV[choice.service]} or stack.images.{choice.service}"
        ) from exc
