"""What each container of the Docker stack runs: command, environment, health check.

The arguments follow the official images' conventions (``postgres`` with ``-p`` and
``-c name=value``; ``toxiproxy-server``'s ``-host``/``-port`` flags; the booking
image's ``python -m booking`` entrypoint with ``BOOKING_*`` settings), so a user's own
images that keep those conventions run unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.backends.ports import LOOPBACK
from harness.backends.replicas import setting_env
from harness.experiment.model import BookingSpec, PostgresSpec

# PostgreSQL's data lives in memory: a throwaway database, removed with its container.
# A path the image does not have: Docker applies a tmpfs's mode only to a new folder, and
# the server's user (not root) must be able to create its data folder inside.
PGDATA_MOUNT = "/concert-chaos-pgdata"
SECOND_NS = 1_000_000_000


@dataclass(frozen=True)
class ServiceSpec:
    """One container to run: its service name, image, command and engine options."""

    service: str
    image: str
    command: list[str]
    options: dict[str, Any] = field(default_factory=dict)


def healthcheck(test: list[str]) -> dict[str, object]:
    """Docker's health check, every second; the harness's own probes decide readiness."""
    return {"test": test, "interval": SECOND_NS, "timeout": 2 * SECOND_NS, "retries": 3}


def postgres_service(image: str, port: int, spec: PostgresSpec) -> ServiceSpec:
    """PostgreSQL on 127.0.0.1:port, trust authentication, data in memory."""
    command = [
        "postgres",
        "-p",
        str(port),
        # Loopback only, even on the host's network.
        "-c",
        f"listen_addresses={LOOPBACK}",
        "-c",
        f"max_connections={spec.max_connections}",
        # A throwaway test database, as in the local backend: durability across a
        # crash is not under test, and fsync only adds noise on a busy machine.
        "-c",
        "fsync=off",
        "-c",
        "full_page_writes=off",
    ]
    options = {
        "environment": {
            "POSTGRES_HOST_AUTH_METHOD": "trust",
            "PGPORT": str(port),
            # A folder inside the mount, as the official image's docs advise for mounts:
            # the entrypoint creates it with the owner and mode it needs.
            "PGDATA": f"{PGDATA_MOUNT}/pgdata",
        },
        "tmpfs": {PGDATA_MOUNT: "mode=1777"},
        "shm_size": "256m",
        "healthcheck": healthcheck(["CMD", "pg_isready", "-q", "-h", LOOPBACK, "-p", str(port)]),
    }
    return ServiceSpec("postgres", image, command, options)


def toxiproxy_service(image: str, api_port: int) -> ServiceSpec:
    """A Toxiproxy server (or one taking its flags) with its API on 127.0.0.1:api_port."""
    # -proxy-metrics turns on the byte counters the fault verification reads. The
    # official image has no shell or HTTP client inside, so no Docker health check.
    command = ["-host", LOOPBACK, "-port", str(api_port), "-proxy-metrics"]
    return ServiceSpec("toxiproxy", image, command)


def seed_service(image: str, database_url: str, seats: int) -> ServiceSpec:
    """A one-off ``booking init-db``: schema and seats, straight to PostgreSQL."""
    command = ["init-db", "--database-url", database_url, "--seats", str(seats)]
    return ServiceSpec("booking-init-db", image, command)


def booking_service(
    image: str, name: str, port: int, database_url: str, spec: BookingSpec
) -> ServiceSpec:
    """One booking replica on 127.0.0.1:port, configured through ``BOOKING_*``."""
    environment = setting_env(spec.settings)
    environment.update(
        BOOKING_HOST=LOOPBACK,
        BOOKING_PORT=str(port),
        BOOKING_DATABASE_URL=database_url,
        BOOKING_POOL_SIZE=str(spec.pool_size),
        BOOKING_ACQUIRE_TIMEOUT=f"{spec.acquire_timeout:g}",
        BOOKING_REPLICA=name,
    )
    live = f"http://{LOOPBACK}:{port}/health/live"
    probe = f"import urllib.request as u; u.urlopen({live!r}, timeout=1)"
    options = {
        "environment": environment,
        "healthcheck": healthcheck(["CMD", "python", "-c", probe]),
    }
    return ServiceSpec(name, image, ["serve"], options)
