"""The harness's exception tree. Only the CLI turns these into exit codes.

HarnessError                  base: anything the harness reports as its own failure
+-- ExperimentError           the experiment file is invalid (exit 2, nothing started)
+-- StackError                the stack could not be brought up, probed or torn down
|   +-- ReadinessTimeout      a service did not become ready in time
+-- FaultError                a fault could not be applied or removed
+-- LoadError                 the load generator failed to start or crashed
+-- RunAborted                the run was stopped early (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

from dataclasses import dataclass


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an experiment file, located precisely."""

    file: str
    line: int | None
    column: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ExperimentError(HarnessError):
    """The experiment is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StackError(HarnessError):
    """The stack could not be brought up, probed or torn down."""


class ReadinessTimeout(StackError):
    """A service did not become ready within its deadline."""


class FaultError(HarnessError):
    """A fault could not be applied to or removed from the stack."""


class LoadError(HarnessError):
    """The load generator failed to start or stopped abnormally."""


class RunAborted(HarnessError):
    """The run was interrupted (Ctrl-C or SIGTERM) and torn down early."""
