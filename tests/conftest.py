"""Fixtures shared across test areas."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))


@dataclass(frozen=True)
class CliResult:
    """What one in-process ``harness`` invocation returned and printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr with runs of whitespace collapsed, so wrapping cannot matter."""
        return " ".join((self.out + "\n" + self.err).split())


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., CliResult]]:
    """Call ``harness.cli.main`` in-process; restores the logging the CLI configures."""
    # rich wraps at the terminal width; a wide one keeps a problem on one line.
    monkeypatch.setenv("COLUMNS", "200")
    logger = logging.getLogger("harness")
    saved_handlers, saved_level = logger.handlers[:], logger.level

    def run(*argv: object) -> CliResult:
        code = main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run
    # main() points the harness logger at this test's captured stderr; put it back.
    logger.handlers[:] = saved_handlers
    logger.setLevel(saved_level)


# Fast tests first, then whole runs on the embedded stack, then Docker: a broken unit
# shows up in seconds, before minutes of end-to-end runs.
_STAGES = ("e2e", "docker")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the session: unmarked tests, then ``e2e``, then ``docker``."""

    def stage(item: pytest.Item) -> int:
        for index, marker in enumerate(_STAGES, start=1):
            if item.get_closest_marker(marker) is not None:
                return index
        return 0

    items.sort(key=stage)  # stable: the order within a stage is kept
