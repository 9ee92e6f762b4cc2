"""The README opens with exactly two commands, and CI runs the second one."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_two_commands_before_any_prose() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    before_block = text.split("```sh\n", 1)[0]
    assert [line for line in before_block.splitlines() if line.strip()] == [
        "# concert-chaos-harness"
    ]
    commands = readme_commands()
    assert len(commands) == 2
    assert "harness run experiments/concert-release.yaml" in commands[0]
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_readme_experiment_files_exist() -> None:
    assert (ROOT / "experiments" / "concert-release.yaml").is_file()


def test_the_readme_example_experiment_is_valid(tmp_path: Path) -> None:
    import shutil

    from harness.experiment.loader import load_experiment

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    shutil.copytree(ROOT / "experiments" / "base", tmp_path / "base")
    (tmp_path / "example.yaml").write_text(example)

    before = load_experiment(tmp_path / "example.yaml", variant="before")
    after = load_experiment(tmp_path / "example.yaml", variant="after")

    assert before.faults[0].attributes["latency"] == 150
    assert (after.stack.booking.pool_size, after.stack.booking.settings) == (250, {"breaker": True})
