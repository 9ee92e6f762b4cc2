"""verdict.json's documented, versioned schema, and rebuilding every report from it.

verdict.json is the source of every other report: ``regenerate`` reads it (with the
folder's other JSON files) and writes report.html, junit.xml and summary.md again, so
a report can be remade after the renderers improve, or from an archived folder.

Versioning: ``schema_version`` is 1. Adding a field keeps the version, and readers
ignore fields they do not know; renaming, removing or changing the meaning of a field
raises it. A verdict without ``schema_version`` predates the field and reads as 1.

The schema is JSON Schema (draft 2020-12). `validate` checks a document against it
with the small subset of keywords the schema uses (type, enum, required, properties,
additionalProperties, items, minimum, $ref), so no validator package is needed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.report.html import write_html
from harness.report.junit import JUNIT_FILE, write_junit
from harness.report.markdown import SUMMARY_FILE, write_markdown
from harness.report.model import VERDICT_FILE, ReportError, load_run, read_json

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

_NUM = {"type": "number"}
_NUM_OR_NULL = {"type": ["number", "null"]}
_STR = {"type": "string"}
_STATUS = {"enum": ["pass", "fail", "inconclusive", "aborted"]}

VERDICT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:concert-chaos-harness:verdict:1",
    "title": "verdict.json: one graded run of the concert chaos harness",
    "type": "object",
    "required": ["schema_version", "experiment", "verdict", "phases"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION, "type": "integer"},
        "experiment": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": _STR, "description": _STR},
        },
        "started_at": {**_NUM_OR_NULL, "description": "Unix time the load started (t0)."},
        "ended_at": {**_NUM_OR_NULL, "description": "Unix time the load ended."},
        "verdict": {"$ref": "#/$defs/verdict"},
        "phases": {"type": "array", "items": {"$ref": "#/$defs/phase"}},
        "fault_events": {"type": "array", "items": {"$ref": "#/$defs/fault_event"}},
        "results_dir": _STR,
        "stack": {"type": "object", "description": "Addresses and timings of the stack."},
    },
    "$defs": {
        "verdict": {
            "type": "object",
            "required": ["status", "reason", "objectives"],
            "properties": {
                "status": _STATUS,
                "reason": {**_STR, "description": "One sentence saying why."},
                "objectives": {"type": "array", "items": {"$ref": "#/$defs/objective"}},
                "integrity": {"$ref": "#/$defs/integrity"},
                "faults_missing": {"type": "array", "items": _STR},
            },
        },
        "objective": {
            "type": "object",
            "required": ["sli", "phase", "target", "unit", "actual", "status"],
            "properties": {
                "sli": _STR,
                "phase": {**_STR, "description": "run, baseline, fault:<label> or recovery."},
                "endpoint": {"type": ["string", "null"]},
                "target": {**_STR, "description": "'>= 99.9 %' or '< 500 ms'."},
                "bound": _NUM,
                "unit": {"enum": ["%", "ms", "req/s"]},
                "actual": {**_NUM_OR_NULL, "description": "null: no data to judge."},
                "status": _STATUS,
                "margin": {**_NUM_OR_NULL, "description": "Positive: headroom."},
            },
        },
        "integrity": {
            "type": "object",
            "properties": {
                "checked": {"type": "boolean"},
                "ok": {"type": "boolean"},
                "summary": _STR,
                "violations": {"type": "object", "additionalProperties": {"type": "integer"}},
                "lost_bookings": {"type": "array", "items": _STR},
            },
        },
        "phase": {
            "type": "object",
            "required": ["name", "start", "end", "requests", "slis"],
            "properties": {
                "name": _STR,
                "start": {**_NUM, "description": "Seconds from the start of load."},
                "end": _NUM,
                "requests": {"type": "integer", "minimum": 0},
                "outcomes": {"type": "object", "additionalProperties": {"type": "integer"}},
                "booking_attempts": {"type": "integer", "minimum": 0},
                "bookings_completed": {"type": "integer", "minimum": 0},
                "slis": {"type": "object", "additionalProperties": _NUM_OR_NULL},
            },
        },
        "fault_event": {
            "type": "object",
            "required": ["offset", "fault", "action", "ok"],
            "properties": {
                "t": _NUM,
                "offset": {**_NUM, "description": "Seconds from the start of load."},
                "fault": _STR,
                "action": {**_STR, "description": "apply, remove, or a replica action."},
                "ok": {"type": "boolean"},
                "detail": _STR,
            },
        },
    },
}

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "number": (int, float),
    "integer": (int,),
}


def _type_ok(value: Any, names: str | list[str]) -> bool:
    for name in [names] if isinstance(names, str) else names:
        if isinstance(value, bool) and name in ("number", "integer"):
            continue
        if isinstance(value, _TYPES[name]):
            return True
    return False


def _check(value: Any, schema: Mapping[str, Any], where: str, problems: list[str]) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        _check(value, VERDICT_SCHEMA["$defs"][name], where, problems)
        return
    if "type" in schema and not _type_ok(value, schema["type"]):
        problems.append(f"{where}: expected {schema['type']}, got {value!r:.60}")
        return
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: expected {schema['const']!r}, got {value!r}")
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: {value!r} is below {schema['minimum']}")
    if isinstance(value, dict):
        _check_object(value, schema, where, problems)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{index}]", problems)


def _check_object(
    value: Mapping[str, Any], schema: Mapping[str, Any], where: str, problems: list[str]
) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            problems.append(f"{where}: missing {key!r}")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties")
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], f"{where}.{key}", problems)
        elif isinstance(extra, Mapping):
            _check(item, extra, f"{where}.{key}", problems)


def validate(document: Any) -> list[str]:
    """Every way ``document`` departs from the schema, as ``path: problem`` lines."""
    problems: list[str] = []
    _check(document, VERDICT_SCHEMA, "$", problems)
    return problems


def schema_text() -> str:
    """The schema as indented JSON, as docs/verdict.schema.json holds it."""
    return json.dumps(VERDICT_SCHEMA, indent=2) + "\n"


def check_version(document: Mapping[str, Any], source: Path) -> int:
    """The document's schema version; a newer one than this harness knows is an error."""
    version = document.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ReportError(f"{source}: schema_version must be an integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{source} has schema_version {version}, newer than this harness reads "
            f"({SCHEMA_VERSION}); regenerate it with the harness that wrote it"
        )
    return version


def regenerate(results_dir: Path) -> list[Path]:
    """Rebuild report.html, junit.xml and summary.md of a results folder from its JSON."""
    verdict_path = results_dir / VERDICT_FILE
    document = read_json(verdict_path)
    if not isinstance(document, Mapping):
        raise ReportError(f"{verdict_path} holds no JSON object")
    check_version(document, verdict_path)
    for problem in validate({"schema_version": SCHEMA_VERSION, **document}):
        # Render what is there: an odd field costs a blank cell, not the whole report.
        log.warning("%s departs from the schema: %s", verdict_path, problem)
    folder = load_run(results_dir)
    stats = folder.stats()
    return [
        write_html(folder),
        write_junit(folder.result, results_dir / JUNIT_FILE),
        write_markdown(folder.result, results_dir / SUMMARY_FILE, folder.experiment, stats),
    ]
