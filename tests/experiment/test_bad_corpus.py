"""`harness validate` on a corpus of broken experiments: each error points at its spot.

Every file in ``bad/`` starts with a comment of the form
``# wrong: <what> | key: <key path or -> | line: <n> | says: <part of the message>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

BAD = Path(__file__).resolve().parent / "bad"
HEADER = re.compile(
    r"^# wrong: (?P<what>.+?) \| key: (?P<key>\S+) \| line: (?P<line>\d+) \| says: (?P<says>.+)$"
)


@dataclass(frozen=True)
class Expectation:
    """What a corpus file's first line promises about its error."""

    what: str
    key: str | None
    line: int
    says: str


def expectation(path: Path) -> Expectation:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{path.name}: first line does not follow the corpus header format"
    key = match["key"]
    return Expectation(
        match["what"], None if key == "-" else key, int(match["line"]), match["says"]
    )


CORPUS = sorted(BAD.glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 15


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_validate_reports_key_path_and_line(path: Path, run_cli: Callable[..., Any]) -> None:
    expected = expectation(path)

    result = run_cli("validate", path)

    assert result.code == 2
    text = result.text
    assert f"invalid {path}" in text
    where = f"{path}:{expected.line}:"
    if expected.key is None:
        assert re.search(re.escape(where) + r"\d+: ", text), text
    else:
        assert re.search(re.escape(where) + r"\d+: " + re.escape(expected.key + ":"), text), text
    assert expected.says in text
