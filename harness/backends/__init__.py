"""How a stack is run: local processes (the embedded default) or Docker containers.

Each backend runs the same services on the same loopback ports; only the launcher
differs. ``create_stack`` picks one from the experiment's ``stack.backend``.
"""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import Stack, StackEndpoints
from harness.errors import StackError
from harness.experiment.model import Backend, StackSpec

__all__ = ["Stack", "StackEndpoints", "create_stack"]


def create_stack(spec: StackSpec, booking_dir: Path, workdir: Path, run_id: str) -> Stack:
    """The stack for ``spec.backend``, not yet started."""
    if spec.backend is Backend.local:
        from harness.backends.local import LocalStack

        return LocalStack(spec, booking_dir, workdir)
    if spec.backend is Backend.docker:
        from harness.backends.docker import DockerStack

        return DockerStack(spec, booking_dir, workdir, run_id)
    raise StackError(f"unknown backend {spec.backend.value!r} (run {run_id})")
