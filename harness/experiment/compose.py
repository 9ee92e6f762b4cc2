"""Reuse across experiments: ``extends`` a base file, ``vars`` with ``${name}``, ``--set``.

The order, all before validation:

1. ``extends: base.yaml`` (relative to the file; bases may extend further bases): the
   base is read first and the file is merged over it. Mappings merge key by key, any
   other value (lists included) replaces the base's.
2. ``--set key.path=value`` overrides, in the order given; the value is read as YAML
   (``--set load.stages[1].users=200``, ``--set faults[0].attributes.latency=300``).
3. ``variants``: named sets of overrides (``variants: {after: {stack.booking.pool_size:
   250}}``); ``--variant after`` applies one before the ``--set`` overrides.
4. ``vars``: a string that is exactly ``${name}`` becomes the variable's value with its
   type (a number stays a number); ``${name}`` inside a longer string is replaced by
   the value's text. ``vars`` may be set with ``--set vars.name=value`` too.

Every value keeps the position of the file it came from, so errors still name the
right file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.errors import ExperimentError, Problem
from harness.experiment.source import Document, KeyPath, Position, dotted, parse_file

EXTENDS = "extends"
VARS = "vars"
VARIANTS = "variants"
MAX_DEPTH = 8
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def compose(
    path: Path, overrides: list[str] | tuple[str, ...] = (), variant: str | None = None
) -> Document:
    """The experiment at ``path`` with its bases, variant, overrides and variables applied."""
    doc = _with_bases(path, depth=0, seen=())
    for key, value in _variant_settings(doc, variant).items():
        _apply_value(doc, parse_key_path(key), value, f"variant {variant}: {key}")
    for override in overrides:
        _apply_override(doc, override)
    _substitute_vars(doc)
    return doc


def variant_names(path: Path) -> list[str]:
    """The variants an experiment defines (``variants:``), in file order."""
    doc = _with_bases(path, depth=0, seen=())
    variants = doc.data.get(VARIANTS) if isinstance(doc.data, dict) else None
    return list(variants) if isinstance(variants, dict) else []


def _variant_settings(doc: Document, variant: str | None) -> dict[str, Any]:
    """Key paths and values of one variant; the ``variants`` key is removed either way."""
    variants = doc.data.pop(VARIANTS, None) if isinstance(doc.data, dict) else None
    if variants is not None and not isinstance(variants, dict):
        raise ExperimentError(
            [
                doc.problem(
                    (VARIANTS,),
                    "variants must map names to settings, e.g. after: {key.path: value}",
                )
            ]
        )
    if variant is None:
        return {}
    if not variants or variant not in variants:
        known = ", ".join(variants or {}) or "none"
        raise ExperimentError(
            [
                Problem(
                    doc.file,
                    None,
                    None,
                    VARIANTS,
                    f"no variant {variant!r}; variants defined: {known}",
                )
            ]
        )
    settings = variants[variant] or {}
    if not isinstance(settings, dict):
        raise ExperimentError(
            [doc.problem((VARIANTS, variant), "a variant maps key paths to values")]
        )
    return {str(key): value for key, value in settings.items()}


def _with_bases(path: Path, depth: int, seen: tuple[Path, ...]) -> Document:
    doc = parse_file(path)
    if not isinstance(doc.data, dict) or EXTENDS not in doc.data:
        return doc
    base_name = doc.data.pop(EXTENDS)
    if not isinstance(base_name, str):
        raise ExperimentError(
            [
                doc.problem(
                    (EXTENDS,), f"expected the path of a base experiment file, got {base_name!r}"
                )
            ]
        )
    base_path = (path.parent / base_name).resolve()
    chain = (*seen, path.resolve())  # this file included, so a file extending itself is caught
    if base_path in chain or depth >= MAX_DEPTH:
        text = " -> ".join(str(p) for p in (*chain, base_path))
        message = (
            f"extends loops or nests too deep: {text}; a chain of bases holds each "
            f"file once and is at most {MAX_DEPTH} deep"
        )
        raise ExperimentError([doc.problem((EXTENDS,), message)])
    if not base_path.is_file():
        raise ExperimentError(
            [
                doc.problem(
                    (EXTENDS,),
                    f"base experiment {base_path} does not exist; "
                    "extends is a path relative to this file",
                )
            ]
        )
    base = _with_bases(base_path, depth + 1, chain)
    return _merge(base, doc)


def _merge(base: Document, over: Document) -> Document:
    """``over`` merged onto ``base``; positions follow the file each value came from."""
    merged = Document(file=over.file, data=None)
    merged.values = {k: _in_file(v, base.file) for k, v in base.values.items()}
    merged.keys = {k: _in_file(v, base.file) for k, v in base.keys.items()}
    merged.data = _merge_values(base.data, over.data, (), over, merged)
    return merged


def _in_file(pos: Position, file: str) -> Position:
    return pos if pos.file else Position(pos.line, pos.column, file)


def _merge_values(base: Any, over: Any, path: KeyPath, over_doc: Document, merged: Document) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            child = (*path, key)
            if child in over_doc.keys:
                merged.keys[child] = over_doc.keys[child]
            out[key] = _merge_values(base.get(key), value, child, over_doc, merged)
        if path in over_doc.values:
            merged.values[path] = over_doc.values[path]
        return out
    # Replaced whole: forget the base's positions below this path.
    for table in (merged.values, merged.keys):
        for key in [k for k in table if k[: len(path)] == path and len(k) > len(path)]:
            del table[key]
    for table, source in ((merged.values, over_doc.values), (merged.keys, over_doc.keys)):
        for key, pos in source.items():
            if key[: len(path)] == path:
                table[key] = pos
    return over


def parse_key_path(text: str) -> KeyPath:
    """``load.stages[1].users`` -> ``("load", "stages", 1, "users")``."""
    parts: list[str | int] = []
    for name, index in _PATH_PART.findall(text):
        if index:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return tuple(parts)


def _apply_override(doc: Document, override: str) -> None:
    where = f"--set {override}"
    key, sep, raw = override.partition("=")
    if not sep or not key.strip():
        raise ExperimentError(
            [Problem(where, None, None, "", "expected KEY.PATH=VALUE, e.g. load.seed=7")]
        )
    path = parse_key_path(key.strip())
    if not path:
        raise ExperimentError([Problem(where, None, None, "", "the key path is empty")])
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ExperimentError(
            [Problem(where, None, None, dotted(path), f"the value is not valid YAML: {exc}")]
        ) from exc
    _apply_value(doc, path, value, where)


def _apply_value(doc: Document, path: KeyPath, value: Any, where: str) -> None:
    """Set ``value`` at ``path``; errors in it will name ``where`` instead of a line."""
    if not isinstance(doc.data, dict) or not path:
        return
    _set_in(doc.data, path, value, where)
    doc.values[path] = Position(None, None, where)
    doc.keys[path] = Position(None, None, where)


def _set_in(data: Any, path: KeyPath, value: Any, where: str) -> None:
    target = data
    for depth, part in enumerate(path[:-1]):
        nxt = path[depth + 1]
        if isinstance(part, int):
            if not isinstance(target, list) or part >= len(target):
                raise ExperimentError(
                    [
                        Problem(
                            where, None, None, dotted(path[: depth + 1]), "no such list item to set"
                        )
                    ]
                )
            target = target[part]
            continue
        if not isinstance(target, dict):
            raise ExperimentError(
                [
                    Problem(
                        where,
                        None,
                        None,
                        dotted(path[: depth + 1]),
                        "cannot set a key inside a non-mapping",
                    )
                ]
            )
        target = target.setdefault(part, [] if isinstance(nxt, int) else {})
    last = path[-1]
    if isinstance(last, int):
        if not isinstance(target, list) or last >= len(target):
            raise ExperimentError(
                [Problem(where, None, None, dotted(path), "no such list item to set")]
            )
        target[last] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise ExperimentError(
            [Problem(where, None, None, dotted(path), "cannot set a key inside a non-mapping")]
        )


def _substitute_vars(doc: Document) -> None:
    if not isinstance(doc.data, dict):
        return
    variables = doc.data.pop(VARS, {}) or {}
    if not isinstance(variables, dict):
        raise ExperimentError([doc.problem((VARS,), "vars must be a mapping of names to values")])
    problems: list[Problem] = []
    doc.data = _replace(doc.data, (), variables, doc, problems)
    if problems:
        raise ExperimentError(problems)


def _replace(
    value: Any, path: KeyPath, variables: dict[str, Any], doc: Document, problems: list[Problem]
) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, (*path, k), variables, doc, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, (*path, i), variables, doc, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    unknown = [n for n in _VAR.findall(value) if n not in variables]
    if unknown:
        known = ", ".join(sorted(variables)) or "none"
        problems.append(
            doc.problem(path, f"unknown variable ${{{unknown[0]}}}; vars defined: {known}")
        )
        return value
    whole = _VAR.fullmatch(value)
    if whole:
        return variables[whole.group(1)]
    return _VAR.sub(lambda m: str(variables[m.group(1)]), value)
