"""PostgreSQL from pgserver's binaries, on a loopback port, inside the run's folder.

PostgreSQL refuses to run as root. When the harness runs as root (CI here does), the
binaries run as an unprivileged system user that pgserver's helpers create, and the
data folder and the path to it are opened to that user.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import tempfile
import warnings
from pathlib import Path

import psycopg

from harness.backends.processes import ManagedProcess, wait_until
from harness.errors import StackError

log = logging.getLogger(__name__)

DB_USER = "postgres"
DB_NAME = "postgres"
# The system user the server runs as when the harness is root (pgserver's convention).
SYSTEM_USER = "pgserver"


def _bin_dir() -> Path:
    try:
        # pgserver's package import asks platformdirs for a runtime folder it uses only
        # for its own server manager, which warns when XDG_RUNTIME_DIR is unset (CI).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - a broken install
        raise StackError("pgserver is not installed; `pip install pgserver`") from exc
    return Path(POSTGRES_BIN_PATH)


def _prepare_unprivileged_user(data_dir: Path) -> str | None:
    """As root: make sure the system user exists and can reach binaries and data."""
    if os.geteuid() != 0:
        return None
    import pwd
    import stat

    _bin_dir()  # imports pgserver quietly first
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    bin_dir = _bin_dir()
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    entry = pwd.getpwnam(SYSTEM_USER)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)
    return SYSTEM_USER


def new_data_dir() -> Path:
    """A fresh folder for a throwaway cluster, in the system's temporary folder.

    Not inside the run's folder: as root the server runs as another user, who must be
    able to reach the folder, and opening every parent of a user's results folder to
    others would be intrusive (and racy where other tools reset those permissions).
    """
    return Path(tempfile.mkdtemp(prefix="harness-pgdata-"))


class EmbeddedPostgres:
    """One PostgreSQL server: initdb into ``data_dir`` and serve on ``port``."""

    def __init__(self, data_dir: Path, port: int, log_path: Path, *, max_connections: int) -> None:
        self.data_dir = data_dir
        self.port = port
        self.log_path = log_path
        self.max_connections = max_connections
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Connection URL straight to the server (not through any proxy)."""
        return f"postgresql://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def start(self, timeout: float) -> float:
        """Create the cluster, start the server and wait until it answers queries."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Create the cluster and start the server; returns without waiting for it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _prepare_unprivileged_user(self.data_dir)
        self._initdb(user)
        self.process = ManagedProcess(
            "postgres",
            [
                str(_bin_dir() / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                # TCP only: a socket path under a deep run folder would pass the
                # 107-byte limit of Unix socket names.
                "-c",
                "unix_socket_directories=",
                "-c",
                f"max_connections={self.max_connections}",
                # A throwaway test database: durability across a machine crash is not
                # under test, and fsync on a shared 2-core machine only adds noise.
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            self.log_path,
            user=user,
            # SIGINT is PostgreSQL's "fast" shutdown: abort transactions, exit now.
            stop_signal=signal.SIGINT,
        )
        self.process.start()

    def wait_ready(self, timeout: float) -> float:
        """Wait until the server answers queries; the seconds it took."""
        assert self.process is not None, "launch() first"
        return wait_until(self._answers, timeout=timeout, what="PostgreSQL", process=self.process)

    def _initdb(self, user: str | None) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        argv = [
            str(_bin_dir() / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            DB_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]
        result = subprocess.run(
            argv, user=user, capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode != 0:
            raise StackError(f"initdb failed ({result.returncode}): {result.stderr.strip()}")

    def _answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def stop(self, grace: float = 5.0) -> None:
        """Fast shutdown; idempotent."""
        if self.process is not None:
            self.process.stop(grace)
