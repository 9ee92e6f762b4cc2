"""The stack under test as an experiment describes it: services, settings, backends."""

from __future__ import annotations

from enum import Enum

from pydantic import Field

from harness.experiment.fields import Duration, Model


class BookingSpec(Model):
    """Settings of the booking service replicas."""

    source: str = Field(
        default="../stack/booking",
        description="Folder of the booking service, relative to the experiment file.",
    )
    replicas: int = Field(
        default=1, ge=1, le=16, description="Booking replicas behind one load balancer."
    )
    settings: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="More service settings, passed as BOOKING_<NAME> environment variables "
        "(e.g. breaker: true, liveness_checks_db: false).",
    )
    pool_size: int = Field(default=100, ge=1, le=10000, description="DB pool size per replica.")
    acquire_timeout: Duration = Field(
        default=5.0, gt=0, le=300, description="Longest wait for a pooled connection."
    )
    seats: int = Field(default=3000, ge=10, le=1_000_000, description="Seats in the concert.")


class PostgresSpec(Model):
    """Settings of the PostgreSQL server."""

    max_connections: int = Field(
        default=300, ge=10, le=10000, description="PostgreSQL's max_connections setting."
    )


class ToxiproxyServer(str, Enum):
    """Which Toxiproxy server sits in front of the stack's dependencies."""

    auto = "auto"
    embedded = "embedded"
    toxiproxy_server = "toxiproxy-server"


class ToxiproxySpec(Model):
    """Where the fault proxy comes from. Experiments do not change with the choice.

    ``auto`` uses, in order: ``url`` if given, the ``TOXIPROXY_URL`` environment
    variable, a ``toxiproxy-server`` on PATH, and otherwise the embedded proxy.
    """

    server: ToxiproxyServer = ToxiproxyServer.auto
    url: str | None = Field(
        default=None,
        pattern=r"^https?://(127\.[0-9.]+|localhost|\[::1\]):[0-9]+/?$",
        description="A running Toxiproxy's API on this machine (loopback only).",
    )


class SupervisorSpec(Model):
    """An orchestrator's liveness probe that restarts failing replicas (Kubernetes-like)."""

    enabled: bool = Field(default=True, description="Probe replicas and restart failing ones.")
    path: str = Field(default="/health/live", pattern=r"^/", description="The liveness path.")
    interval: Duration = Field(default=2.0, gt=0, le=600, description="Seconds between probes.")
    timeout: Duration = Field(default=1.0, gt=0, le=60, description="A probe's timeout.")
    failure_threshold: int = Field(
        default=3, ge=1, le=100, description="Failed probes in a row that trigger a restart."
    )
    initial_delay: Duration = Field(
        default=5.0, ge=0, le=600, description="Grace after a restart before probing again."
    )


class Backend(str, Enum):
    """How the stack is run."""

    local = "local"
    docker = "docker"


class ImagesSpec(Model):
    """Container images of the Docker backend, one per service.

    The environment variables ``HARNESS_IMAGE_POSTGRES``, ``HARNESS_IMAGE_TOXIPROXY`` and
    ``HARNESS_IMAGE_BOOKING`` win over these (CI points them at images it built).
    """

    postgres: str = Field(default="postgres:16", min_length=1, description="PostgreSQL image.")
    toxiproxy: str = Field(
        default="ghcr.io/shopify/toxiproxy:2.12.0",
        min_length=1,
        description="Toxiproxy server image (or one accepting the same flags).",
    )
    booking: str = Field(
        default="concert-chaos/booking:latest",
        min_length=1,
        description="Booking service image, built from stack/booking/Dockerfile.",
    )


class StackSpec(Model):
    """The system under test: PostgreSQL behind a fault proxy, booking replicas in front."""

    backend: Backend = Backend.local
    booking: BookingSpec = Field(default_factory=BookingSpec)
    postgres: PostgresSpec = Field(default_factory=PostgresSpec)
    toxiproxy: ToxiproxySpec = Field(default_factory=ToxiproxySpec)
    supervisor: SupervisorSpec = Field(default_factory=SupervisorSpec)
    images: ImagesSpec = Field(default_factory=ImagesSpec)
    startup_timeout: Duration = Field(default=30.0, gt=0, le=600)
