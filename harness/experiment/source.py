"""Read YAML while remembering where every key and value stands in the file.

PyYAML's composed node tree keeps line and column marks; the plain loaders drop them and
silently keep the last of two duplicate keys. Walking the node tree ourselves gives both
the data and a map from key paths (``("faults", 0, "at")``) to positions, so validation
errors can name the file, line and column of the bad value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ExperimentError, Problem

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """1-based line and column of a node; ``file`` when it came from another file.

    Values merged in from a base experiment (``extends``) keep their own file, and
    values given with ``--set`` have no line at all.
    """

    line: int | None
    column: int | None
    file: str | None = None


@dataclass
class Document:
    """Parsed YAML data with the position of each key and value."""

    file: str
    data: Any
    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)

    def locate(self, path: KeyPath) -> Position | None:
        """Position of the deepest node along ``path`` that the file contains."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                return self.values[prefix]
        return None

    def locate_key(self, path: KeyPath) -> Position | None:
        """Position of the key at ``path`` itself, falling back to its value."""
        return self.keys.get(path) or self.locate(path)

    def problem(self, path: KeyPath, message: str, *, at_key: bool = False) -> Problem:
        """A problem located at ``path``."""
        pos = self.locate_key(path) if at_key else self.locate(path)
        return Problem(
            file=pos.file or self.file if pos else self.file,
            line=pos.line if pos else None,
            column=pos.column if pos else None,
            key=dotted(path),
            message=message,
        )


def dotted(path: KeyPath) -> str:
    """``("faults", 0, "at")`` -> ``faults[0].at``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _mark(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    """Turns a node tree into plain data, recording positions and duplicate keys."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.constructor = yaml.constructor.SafeConstructor()
        self.problems: list[Problem] = []

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self.doc.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._construct(node, path)

    def _construct(self, node: yaml.Node, path: KeyPath) -> Any:
        # A tag with no safe constructor (``!foo``) or a value its tag rejects
        # (``!!int abc``) is reported at the node and the walk goes on, so the file's
        # other problems are found too.
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            reason = getattr(exc, "problem", None) or str(exc)
            pos = _mark(node)
            self.problems.append(
                Problem(
                    self.doc.file,
                    pos.line,
                    pos.column,
                    dotted(path),
                    f"cannot read this value: {reason}; use plain YAML scalars, lists and mappings",
                )
            )
            return None

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        self.constructor.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._construct(key_node, (*path, "?"))
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            if key in out:
                first = self.doc.keys[child]
                self.problems.append(
                    Problem(
                        self.doc.file,
                        _mark(key_node).line,
                        _mark(key_node).column,
                        dotted(child),
                        f"duplicate key (first defined on line {first.line}); "
                        "each key may appear once per mapping",
                    )
                )
                continue
            self.doc.keys[child] = _mark(key_node)
            out[key] = self.walk(value_node, child)
        return out


def _yaml_problem(file: str, exc: yaml.YAMLError) -> Problem:
    """A PyYAML error as a Problem, at its mark when it has one."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        return Problem(file, line, column, "", f"YAML syntax error: {_yaml_reason(exc)}")
    return Problem(file, None, None, "", f"YAML error: {exc}")


def _yaml_reason(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's problem with its context (where the open construct began) and a hint."""
    reason = exc.problem or str(exc)
    context, start = exc.context, exc.context_mark
    if context and reason.startswith("but "):  # "expected a single document ..., but found"
        reason = f"{context}, {reason}"
    elif context and start is not None:
        reason += f" ({context} that starts on line {start.line + 1})"
    # PyYAML's wording assumes its grammar is known; say what people usually did wrong.
    if "'\\t'" in reason:
        reason += "; indent with spaces, YAML does not allow tabs"
    elif "<block end>" in reason or "mapping values are not allowed" in reason:
        reason += "; check the indentation, and quote a value that contains ': '"
    elif "end of stream" in reason or "<stream end>" in reason:
        reason += "; is a bracket or a quote left open?"
    return reason


def parse_text(text: str, file: str) -> Document:
    """Parse YAML text into a :class:`Document`; syntax errors become ExperimentError."""
    doc = Document(file=file, data=None)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ExperimentError([_yaml_problem(file, exc)]) from exc
    if node is None:
        raise ExperimentError(
            [Problem(file, 1, 1, "", "the file is empty; an experiment is a YAML mapping")]
        )
    walker = _Walker(doc)
    try:
        doc.data = walker.walk(node, ())
    except yaml.YAMLError as exc:  # e.g. a merge key (<<) whose value is not a mapping
        raise ExperimentError([_yaml_problem(file, exc)]) from exc
    if walker.problems:
        raise ExperimentError(walker.problems)
    return doc


def parse_file(path: Path) -> Document:
    """Read and parse a YAML file; an unreadable file becomes ExperimentError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentError(
            [Problem(str(path), None, None, "", f"cannot read the file: {exc}")]
        ) from exc
    return parse_text(text, str(path))
