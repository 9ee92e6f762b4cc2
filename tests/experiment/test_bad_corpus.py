"""A corpus of broken experiments: each is refused with exit 2, a located message, nothing run.

Every file in ``bad/`` starts with a comment of the form
``# wrong: <what> | key: <key path or -> | line: <n> | says: <part of the message>``;
``| in: <file> |`` before ``says`` names the file the problem is reported in when it is not
the corpus file itself (an error inside a base it extends). ``bad/bases/`` holds those
bases: they are companions, not corpus entries.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ExperimentError, Problem
from harness.experiment.loader import load_experiment

BAD = Path(__file__).resolve().parent / "bad"
HEADER = re.compile(
    r"^# wrong: (?P<what>.+?) \| key: (?P<key>\S+) \| line: (?P<line>\d+)"
    r"(?: \| in: (?P<file>\S+))? \| says: (?P<says>.+)$"
)
# Only the top level: bad/bases/ holds the files some corpus entries extend.
CORPUS = sorted(BAD.glob("*.yaml"))

# Words by which a message says what is accepted or what to do instead.
ADVICE = (
    "accepted",
    "expected",
    "should",
    "must",
    "may appear once",
    "give ",
    "use ",
    "did you mean",
    "the stack has",
    "phases of this experiment",
    "vars defined",
    "relative to this file",
    "at most",
    "move one or merge",
    "is a YAML mapping",
    "indent",
    "left open",
    "a single document",
    "have some",
)
# A missing key says what to do by naming it.
ADVICE_EXEMPT = ("required key is missing",)


@dataclass(frozen=True)
class Expectation:
    """What a corpus file's first line promises about its error."""

    what: str
    key: str | None
    line: int
    file: Path
    says: str


def expectation(path: Path) -> Expectation:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = HEADER.match(first)
    assert match, f"{path.name}: first line does not follow the corpus header format"
    key = match["key"]
    file = (BAD / match["file"]).resolve() if match["file"] else path
    return Expectation(
        match["what"], None if key == "-" else key, int(match["line"]), file, match["says"]
    )


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ExperimentError) as caught:
        load_experiment(path)
    return caught.value.problems


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 45


def test_companion_bases_are_not_corpus_entries() -> None:
    bases = list((BAD / "bases").glob("*.yaml"))

    assert bases
    assert not set(bases) & set(CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_validate_reports_key_path_and_line(path: Path, run_cli: Callable[..., Any]) -> None:
    expected = expectation(path)

    result = run_cli("validate", path)

    assert result.code == 2
    text = result.text
    assert f"invalid {path}" in text
    where = re.escape(f"{expected.file}:{expected.line}:") + r"\d+: "
    if expected.key is not None:
        where += re.escape(expected.key + ":")
    assert re.search(where, text), text
    assert expected.says in text


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_every_problem_has_a_line_a_key_and_advice(path: Path) -> None:
    expected = expectation(path)

    problems = problems_of(path)

    assert problems
    for problem in problems:
        assert problem.line is not None, problem
        assert problem.column is not None, problem
        # Only problems with the file as a whole (syntax, its shape) have no key path.
        assert bool(problem.key) == (expected.key is not None), problem
        if not problem.message.startswith(ADVICE_EXEMPT):
            assert any(word in problem.message for word in ADVICE), problem


def test_validate_reports_every_file_given_and_fails_if_any_is_bad(
    run_cli: Callable[..., Any],
) -> None:
    good = Path(__file__).resolve().parents[2] / "experiments" / "smoke.yaml"
    bad = [BAD / "tab-indentation.yaml", BAD / "missing-load.yaml"]

    result = run_cli("validate", bad[0], good, bad[1])

    assert result.code == 2
    assert f"valid {good}" in result.text
    assert all(f"invalid {path}" in result.text for path in bad)


# Runs `python -m harness ...` with an audit hook that logs every attempt to start a
# process or bind or connect a socket to the file named by $AUDIT_LOG, so the test sees
# what the command tried to do rather than what it left behind. The modules `run` imports
# are imported first: urllib3 (under the Docker SDK) binds a throwaway socket at import
# time to learn whether IPv6 works, which is not the harness starting anything.
_AUDITED = textwrap.dedent("""\
    import os, runpy, sys
    import harness.cli, harness.report.console, harness.run
    log = open(os.environ["AUDIT_LOG"], "w", encoding="utf-8")
    WATCHED = ("subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec",
               "os.spawn", "os.system", "socket.bind", "socket.connect", "socket.listen")
    def hook(event, args):
        if event.startswith(WATCHED):
            log.write(event + "\\n")
            log.flush()
    sys.addaudithook(hook)
    sys.argv = ["harness", *sys.argv[1:]]
    runpy.run_module("harness", run_name="__main__", alter_sys=True)
    """)

RUN_SAMPLES = [
    "tab-indentation.yaml",  # YAML syntax
    "users-a-billion.yaml",  # the typed model
    "overlapping-faults.yaml",  # checks across fields
    "extends-loop.yaml",  # reuse: bases
    "unknown-variable.yaml",  # reuse: vars
]


@dataclass(frozen=True)
class Refusal:
    """How one audited ``harness run`` of a corpus file ended, and what it left."""

    code: int
    stderr: str
    results: Path
    audit: str


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Refusal]:
    """Every sample run at once: each start is mostly imports, and two cores share them."""
    root = tmp_path_factory.mktemp("runs")
    started = {}
    for name in RUN_SAMPLES:
        folder = root / name
        folder.mkdir()
        env = {**os.environ, "AUDIT_LOG": str(folder / "audit.log"), "COLUMNS": "200"}
        argv = ["run", str(BAD / name), "--results", str(folder / "results")]
        started[name] = subprocess.Popen(
            [sys.executable, "-c", _AUDITED, *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    ended = {}
    try:
        for name, process in started.items():
            _, stderr = process.communicate(timeout=60)
            folder = root / name
            ended[name] = Refusal(
                process.returncode,
                " ".join(stderr.split()),
                folder / "results",
                (folder / "audit.log").read_text(encoding="utf-8"),
            )
    finally:
        for process in started.values():
            if process.poll() is None:  # past the deadline: do not leave it running
                process.kill()
                process.wait()
    return ended


@pytest.mark.parametrize("name", RUN_SAMPLES, ids=lambda n: n.removesuffix(".yaml"))
def test_run_refuses_before_starting_anything(name: str, refusals: dict[str, Refusal]) -> None:
    expected = expectation(BAD / name)

    refusal = refusals[name]

    assert refusal.code == 2, refusal.stderr
    assert "invalid experiment" in refusal.stderr
    assert f"{expected.file}:{expected.line}:" in refusal.stderr
    assert expected.says in refusal.stderr
    assert not refusal.results.exists()
    assert refusal.audit == ""
