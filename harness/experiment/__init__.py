"""Experiments: the YAML language, its typed model, and loading with precise errors."""

from harness.experiment.loader import load_experiment, load_experiment_text
from harness.experiment.model import Experiment, Fault, Objective, Stage

__all__ = ["Experiment", "Fault", "Objective", "Stage", "load_experiment", "load_experiment_text"]
