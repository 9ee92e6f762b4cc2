"""Load an experiment file into a validated :class:`Experiment`, or say exactly what is wrong.

Three passes, all before anything starts: YAML syntax (with duplicate keys refused),
the typed model (pydantic), then checks across fields (faults inside the run, no
overlapping faults, known proxies). Every problem names file, line, column and key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from harness.errors import ExperimentError
from harness.experiment.checks import cross_checks
from harness.experiment.compose import compose
from harness.experiment.messages import problem_from
from harness.experiment.model import (
    Experiment,
)
from harness.experiment.source import Document, parse_text


def load_experiment(
    path: Path, overrides: list[str] | tuple[str, ...] = (), variant: str | None = None
) -> Experiment:
    """Read, parse and validate an experiment with its bases, variant, vars and ``--set``s."""
    return validate_document(compose(path, overrides, variant))


def load_experiment_text(text: str, file: str = "<experiment>") -> Experiment:
    """Validate an experiment given as YAML text (tests, stdin)."""
    return validate_document(parse_text(text, file))


def validate_document(doc: Document) -> Experiment:
    """Turn parsed YAML into an Experiment; raise ExperimentError listing every problem."""
    if not isinstance(doc.data, dict):
        kind = type(doc.data).__name__
        raise ExperimentError([doc.problem((), f"an experiment is a YAML mapping, got a {kind}")])
    try:
        experiment = Experiment.model_validate(doc.data)
    except ValidationError as exc:
        raise ExperimentError([problem_from(doc, err) for err in exc.errors()]) from exc
    problems = cross_checks(doc, experiment)
    if problems:
        raise ExperimentError(problems)
    return experiment
