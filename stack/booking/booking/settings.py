"""Settings of the booking service and the seed plan of ``init-db``.

Every ``serve`` setting comes from a command-line flag, else from a ``BOOKING_*``
environment variable, else from the default below; flags win over the environment.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict

DEFAULT_POOL_SIZE = 100  # the incident's default (post-mortem of 2025-05-31)
DEFAULT_POOL_MIN_SIZE = 2  # capped at the pool size
DEFAULT_SEATS = 3000

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

# (name, share of the seats, price in cents): the default concert's layout.
_DEFAULT_LAYOUT = (("floor", 10, 15000), ("lower", 12, 9500), ("upper", 8, 5500))


class SettingsError(ValueError):
    """A setting or a seed plan that cannot be used; the message names it."""


@dataclass(frozen=True)
class ServeSettings:
    """What ``booking serve`` needs to run one replica.

    The defaults are the design that failed on 31 May: a pool of 100, no circuit
    breaker, and a liveness probe that checks the database.
    """

    host: str
    port: int
    database_url: str
    pool_size: int = DEFAULT_POOL_SIZE
    pool_min_size: int = DEFAULT_POOL_MIN_SIZE
    acquire_timeout: float = 5.0
    pool_max_lifetime: float = 3600.0  # psycopg_pool's default
    pool_max_idle: float = 600.0  # psycopg_pool's default
    breaker: bool = False
    breaker_failure_threshold: int = 5
    breaker_reset_timeout: float = 5.0
    liveness_checks_db: bool = True
    replica: str = "booking-1"
    hold_ttl: float = 120.0
    statement_timeout: float = 5.0
    connect_timeout: float = 5.0

    def public(self) -> dict[str, object]:
        """Every setting, the database URL replaced by its parts without any password."""
        values = asdict(self)
        del values["database_url"]
        params = conninfo_to_dict(self.database_url)
        database = {key: params.get(key) for key in ("host", "port", "dbname", "user")}
        port = database["port"]
        if isinstance(port, str) and port.isdigit():
            database["port"] = int(port)
        values["database"] = database
        return values


@dataclass(frozen=True)
class Section:
    """One priced block of seats of the seeded concert."""

    name: str
    seats: int
    price_cents: int


# Flag name -> (environment variable, type, default). Order is the help order.
SERVE_OPTIONS: dict[str, tuple[str, type, object]] = {
    "host": ("BOOKING_HOST", str, "127.0.0.1"),
    "port": ("BOOKING_PORT", int, 8080),
    "database_url": ("BOOKING_DATABASE_URL", str, None),
    "pool_size": ("BOOKING_POOL_SIZE", int, DEFAULT_POOL_SIZE),
    "pool_min_size": ("BOOKING_POOL_MIN_SIZE", int, None),  # None: min(2, pool size)
    "acquire_timeout": ("BOOKING_ACQUIRE_TIMEOUT", float, 5.0),
    "pool_max_lifetime": ("BOOKING_POOL_MAX_LIFETIME", float, 3600.0),
    "pool_max_idle": ("BOOKING_POOL_MAX_IDLE", float, 600.0),
    "breaker": ("BOOKING_BREAKER", bool, False),
    "breaker_failure_threshold": ("BOOKING_BREAKER_FAILURE_THRESHOLD", int, 5),
    "breaker_reset_timeout": ("BOOKING_BREAKER_RESET_TIMEOUT", float, 5.0),
    "liveness_checks_db": ("BOOKING_LIVENESS_CHECKS_DB", bool, True),
    "replica": ("BOOKING_REPLICA", str, "booking-1"),
    "hold_ttl": ("BOOKING_HOLD_TTL", float, 120.0),
    "statement_timeout": ("BOOKING_STATEMENT_TIMEOUT", float, 5.0),
    "connect_timeout": ("BOOKING_CONNECT_TIMEOUT", float, 5.0),
}


def serve_settings_from(args: argparse.Namespace, environ: dict[str, str]) -> ServeSettings:
    """Merge parsed flags (None when absent) over the environment over the defaults."""
    values: dict[str, object] = {}
    for name, (env_name, kind, default) in SERVE_OPTIONS.items():
        flag_value = getattr(args, name, None)
        if flag_value is not None:
            values[name] = flag_value
        elif env_name in environ:
            values[name] = _convert(env_name, environ[env_name], kind)
        else:
            values[name] = default
    if not values["database_url"]:
        raise SettingsError("no database URL: pass --database-url or set BOOKING_DATABASE_URL")
    pool_size = values["pool_size"]
    if values["pool_min_size"] is None and isinstance(pool_size, int):
        values["pool_min_size"] = min(DEFAULT_POOL_MIN_SIZE, pool_size)
    settings = ServeSettings(**values)  # type: ignore[arg-type]
    _check_ranges(settings)
    return settings


def _convert(env_name: str, raw: str, kind: type) -> object:
    if kind is bool:
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            raise SettingsError(f"{env_name}={raw!r} is not a boolean: use 1/0, true/false, on/off")
        return word in _TRUE
    try:
        return kind(raw)
    except ValueError as exc:
        raise SettingsError(f"{env_name}={raw!r} is not a valid {kind.__name__}") from exc


_POSITIVE = (
    "acquire_timeout",
    "pool_max_lifetime",
    "pool_max_idle",
    "breaker_reset_timeout",
    "hold_ttl",
    "statement_timeout",
    "connect_timeout",
)


def _check_ranges(settings: ServeSettings) -> None:
    if settings.pool_size < 1:
        raise SettingsError(f"pool size must be at least 1, got {settings.pool_size}")
    if not 0 <= settings.pool_min_size <= settings.pool_size:
        raise SettingsError(
            f"pool min size must be in 0..{settings.pool_size} (the pool size), "
            f"got {settings.pool_min_size}"
        )
    threshold = settings.breaker_failure_threshold
    if threshold < 1:
        raise SettingsError(f"breaker failure threshold must be at least 1, got {threshold}")
    if not 0 <= settings.port <= 65535:
        raise SettingsError(f"port must be in 0..65535, got {settings.port}")
    try:
        conninfo_to_dict(settings.database_url)
    except psycopg.ProgrammingError as exc:
        raise SettingsError(f"the database URL cannot be parsed: {exc}") from exc
    for name in _POSITIVE:
        value = getattr(settings, name)
        if value <= 0:
            raise SettingsError(f"{name.replace('_', '-')} must be positive, got {value}")


def parse_sections(spec: str) -> tuple[Section, ...]:
    """Parse ``name:seats:price_cents,...`` (e.g. ``floor:1000:15000,balcony:500:4500``)."""
    sections: list[Section] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not parts[0]:
            raise SettingsError(f"section {item!r} must look like name:seats:price_cents")
        try:
            seats, price = int(parts[1]), int(parts[2])
        except ValueError as exc:
            raise SettingsError(f"section {item!r}: seats and price must be integers") from exc
        if seats < 1 or price < 0:
            raise SettingsError(f"section {item!r}: needs at least 1 seat and a price >= 0")
        sections.append(Section(parts[0], seats, price))
    if not sections:
        raise SettingsError(f"no sections in {spec!r}")
    if len({section.name for section in sections}) != len(sections):
        raise SettingsError(f"section names repeat in {spec!r}")
    return tuple(sections)


def seed_plan(seats: int | None, sections_spec: str | None) -> tuple[Section, ...]:
    """The sections to seed: given explicitly, or the default layout scaled to ``seats``."""
    if sections_spec is not None:
        sections = parse_sections(sections_spec)
        total = sum(section.seats for section in sections)
        if seats is not None and seats != total:
            raise SettingsError(f"--seats {seats} disagrees with the sections' total of {total}")
        return sections
    return default_sections(DEFAULT_SEATS if seats is None else seats)


def default_sections(seats: int) -> tuple[Section, ...]:
    """Split ``seats`` over the default layout in its proportions; the last takes the rest."""
    if seats < len(_DEFAULT_LAYOUT):
        raise SettingsError(f"--seats must be at least {len(_DEFAULT_LAYOUT)}, got {seats}")
    shares = sum(share for _, share, _ in _DEFAULT_LAYOUT)
    sections: list[Section] = []
    for name, share, price in _DEFAULT_LAYOUT[:-1]:
        sections.append(Section(name, max(1, seats * share // shares), price))
    last_name, _, last_price = _DEFAULT_LAYOUT[-1]
    sections.append(Section(last_name, seats - sum(s.seats for s in sections), last_price))
    return tuple(sections)
