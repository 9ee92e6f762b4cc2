"""The ``harness`` command. Only this module decides exit codes:

0  every objective passed
1  an objective failed, integrity was violated, or the run was inconclusive
2  invalid experiment, bad usage, or a harness error (nothing graded)
130  interrupted (Ctrl-C / SIGTERM); the stack is torn down, results are kept
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from harness import __version__
from harness.errors import ExperimentError, HarnessError, Problem
from harness.experiment.durations import format_duration
from harness.experiment.loader import load_experiment
from harness.experiment.model import Backend, Experiment
from harness.grading.phases import plan_phases
from harness.proxy.cli import add_arguments as add_proxy_arguments

EXIT_PASS, EXIT_FAIL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

log = logging.getLogger("harness")


def _configure_logging(verbose: bool, console: Console) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("harness")
    root.handlers[:] = [handler]
    root.setLevel(level)


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from harness.report.console import render_verdict
    from harness.run import run_experiment

    experiment = load_experiment(args.file, args.overrides, args.variant)
    if args.backend is not None:
        stack = experiment.stack.model_copy(update={"backend": Backend(args.backend)})
        experiment = experiment.model_copy(update={"stack": stack})
    console.print(f"[bold]{experiment.name}[/]: {experiment.description}")
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    result = run_experiment(
        experiment, args.file, args.results, console=console, stack_name=args.stack
    )
    render_verdict(console, result)
    return _exit_code(result)


def _cmd_validate(args: argparse.Namespace, console: Console) -> int:
    problems = 0
    for path in args.files:
        try:
            experiment = load_experiment(path, args.overrides, args.variant)
        except ExperimentError as exc:
            problems += 1
            console.print(f"[red]invalid[/] {path}")
            for problem in exc.problems:
                console.print(f"  {problem}", markup=False, highlight=False)
            continue
        console.print(f"[green]valid[/]   {path}: {experiment.description}")
    return EXIT_ERROR if problems else EXIT_PASS


def _print_plan(console: Console, experiment: Experiment) -> None:
    load = experiment.load
    console.print(f"[bold]{experiment.name}[/]: {experiment.description}")
    model = "open model, arrivals" if load.arrivals else "closed model, users"
    console.print(
        f"load: {format_duration(load.duration)} ({model}); fans: "
        f"{load.mix.buyer:g} buyer : {load.mix.browser:g} browser"
    )
    offset = 0.0
    for arrival in load.arrivals.stages if load.arrivals else ():
        how = "ramping to" if arrival.ramp else "at"
        console.print(
            f"  {format_duration(offset):>7} +{format_duration(arrival.duration):<6} "
            f"{how} {arrival.rate:g} journeys/s"
        )
        offset += arrival.duration
    for stage in load.stages or ():
        console.print(
            f"  {format_duration(offset):>7} +{format_duration(stage.duration):<6} "
            f"{stage.users} users (spawn {stage.spawn_rate:g}/s)"
        )
        offset += stage.duration
    console.print("faults:" if experiment.faults else "faults: none")
    for fault in experiment.faults:
        attrs = ", ".join(f"{k}={v}" for k, v in fault.attributes.items())
        console.print(
            f"  {format_duration(fault.at):>7}-{format_duration(fault.end):<7} "
            f"{fault.label}: {fault.type.value} on {fault.proxy} "
            f"{fault.stream.value} toxicity {fault.toxicity:g} {attrs}"
        )
    _print_checks(console, experiment)
    console.print("phases:")
    for phase in plan_phases(experiment):
        console.print(
            f"  {phase.name:<24} {format_duration(phase.start)}-{format_duration(phase.end)}"
        )
    console.print("objectives:")
    for objective in experiment.objectives:
        where = f" [{objective.endpoint}]" if objective.endpoint else ""
        console.print(
            f"  {objective.sli.value}{where} {objective.target_text} in phase {objective.phase}"
        )


def _print_checks(console: Console, experiment: Experiment) -> None:
    for fault in experiment.faults:
        if fault.ramp is not None:
            steps = ", ".join(f"{k} -> {v}" for k, v in fault.ramp.to.items())
            console.print(
                f"  ramp of {fault.label}: {steps} every {format_duration(fault.ramp.every)}"
            )
    hypothesis = experiment.steady_state
    if hypothesis is not None:
        when = "before the faults, after recovery"
        if hypothesis.throughout:
            when += f", and every {format_duration(hypothesis.interval)}"
        console.print(
            f"steady state ({when}; recovery timeout "
            f"{format_duration(hypothesis.recovery_timeout)}):"
        )
        for probe in hypothesis.probes:
            kind = "http" if probe.http else "sql" if probe.sql else "metric"
            console.print(f"  {probe.name}: {kind}")
    abort = experiment.abort
    if abort.guards or abort.max_duration is not None:
        console.print("abort when:")
        for guard in abort.guards:
            console.print(f"  {guard.text}")
        if abort.max_duration is not None:
            console.print(f"  the run lasts {format_duration(abort.max_duration)}")


def _cmd_plan(args: argparse.Namespace, console: Console) -> int:
    _print_plan(console, load_experiment(args.file, args.overrides, args.variant))
    return EXIT_PASS


def _exit_code(result: dict[str, Any]) -> int:
    verdict = result["verdict"]
    if verdict.get("aborted_by") == "interrupt":
        return EXIT_INTERRUPTED
    return EXIT_PASS if verdict["status"] == "pass" else EXIT_FAIL


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from harness.report.console import render_verdict
    from harness.report.model import read_json
    from harness.report.schema import regenerate

    written = regenerate(args.results_dir)
    render_verdict(console, read_json(args.results_dir / "verdict.json"))
    console.print("reports: " + ", ".join(str(p) for p in written))
    return _exit_code(read_json(args.results_dir / "verdict.json"))


def _cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from harness.report.compare import compare_paths

    comparison = compare_paths(
        args.baseline, args.candidate, args.tolerance or [], console=console, html=args.html
    )
    return EXIT_FAIL if comparison.regressed else EXIT_PASS


def _cmd_matrix(args: argparse.Namespace, console: Console) -> int:
    from harness.experiment.compose import variant_names
    from harness.report.compare import compare_paths
    from harness.report.console import render_verdict
    from harness.run import run_experiment

    names = args.variants.split(",") if args.variants else variant_names(args.file)
    if not names:
        raise ExperimentError(
            [
                Problem(
                    str(args.file),
                    None,
                    None,
                    "variants",
                    "the experiment defines no variants to run",
                )
            ]
        )
    expected = dict(rule.split("=", 1) for rule in args.expect or [])
    experiments = {n: load_experiment(args.file, args.overrides, n) for n in names}
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    results = {}
    for name, experiment in experiments.items():
        console.rule(f"variant {name}")
        results[name] = run_experiment(experiment, args.file, args.results / name, console)
        render_verdict(console, results[name])
        if results[name]["verdict"].get("aborted_by") == "interrupt":
            return EXIT_INTERRUPTED
    first = names[0]
    for name in names[1:]:
        compare_paths(
            Path(results[first]["results_dir"]),
            Path(results[name]["results_dir"]),
            ["*=off"],
            console=console,
        )
    statuses = {n: r["verdict"]["status"] for n, r in results.items()}
    console.print("variants: " + ", ".join(f"{n} {s.upper()}" for n, s in statuses.items()))
    if expected:
        unmet = {n: s for n, s in expected.items() if statuses.get(n) != s}
        if unmet:
            console.print(
                "[red]not as expected:[/] "
                + ", ".join(f"{n} was {statuses.get(n)}, expected {s}" for n, s in unmet.items())
            )
        return EXIT_FAIL if unmet else EXIT_PASS
    return EXIT_PASS if all(s == "pass" for s in statuses.values()) else EXIT_FAIL


def _cmd_stack_up(args: argparse.Namespace, console: Console) -> int:
    from harness.backends import create_stack
    from harness.backends.gameday import list_stacks, serve, stack_dir
    from harness.run import booking_dir_for

    experiment = load_experiment(args.file, args.overrides, args.variant)
    stack_spec = experiment.stack
    if args.backend is not None:
        stack_spec = stack_spec.model_copy(update={"backend": Backend(args.backend)})
    name = args.name or experiment.name
    if name in list_stacks(args.results):
        raise HarnessError(f"a stack named {name!r} is already up; `harness stack down {name}`")
    workdir = stack_dir(args.results, name)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)
    stack = create_stack(
        stack_spec,
        booking_dir_for(experiment, args.file),
        workdir.resolve(),
        run_id=f"stack-{name}",
    )
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    console.print(
        f"stack [bold]{name}[/] ({stack_spec.backend.value}) coming up; "
        f"`harness stack down {name}` or Ctrl-C takes it down"
    )
    try:
        serve(stack, workdir, name, stack_spec.backend.value)
    except KeyboardInterrupt:
        console.print(f"stack {name} taken down")
        return EXIT_PASS
    console.print(f"stack {name} taken down")
    return EXIT_PASS


def _cmd_stack_status(args: argparse.Namespace, console: Console) -> int:
    from harness.backends.gameday import list_stacks, status

    names = [args.name] if args.name else list_stacks(args.results)
    if not names:
        console.print("no stack is up")
        return EXIT_PASS
    healthy = True
    for name in names:
        report = status(args.results, name)
        ready = "ready" if report["booking_ready"] else "[red]NOT READY[/]"
        healthy = healthy and bool(report["booking_ready"])
        console.print(
            f"[bold]{name}[/]: booking {ready}; replicas: "
            + ", ".join(f"{r} {u}" for r, u in report["replicas"].items())
        )
    return EXIT_PASS if healthy else EXIT_FAIL


def _cmd_stack_down(args: argparse.Namespace, console: Console) -> int:
    from harness.backends.gameday import stop_stack

    took = stop_stack(args.results, args.name)
    console.print(f"stack {args.name} is down ({took:.1f}s)")
    return EXIT_PASS


def _cmd_schema(args: argparse.Namespace, console: Console) -> int:
    from harness.experiment.schema import experiment_schema

    print(json.dumps(experiment_schema(), indent=2))
    return EXIT_PASS


def _cmd_proxy(args: argparse.Namespace, console: Console) -> int:
    from harness.proxy.cli import run

    return run(args)


def _cmd_clean(args: argparse.Namespace, console: Console) -> int:
    from harness.backends.clean import clean

    removed = clean(args.run)
    for item in removed:
        console.print(f"removed {item.kind} {item.name} (run {item.run_id})", highlight=False)
    scope = f"of run {args.run}" if args.run else "of any run"
    console.print(f"{len(removed)} Docker object(s) {scope} removed", highlight=False)
    return EXIT_PASS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness", description="Chaos and load tests for the concert ticketing stack."
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    overrides = argparse.ArgumentParser(add_help=False)
    overrides.add_argument(
        "--variant",
        metavar="NAME",
        help="apply one of the experiment's variants (its `variants:` mapping) first",
    )
    overrides.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a value of the experiment, e.g. --set load.stages[1].users=200 "
        "or --set vars.latency=300 (repeatable)",
    )

    run = sub.add_parser(
        "run", parents=[overrides], help="run an experiment and grade it against its SLOs"
    )
    run.add_argument("file", type=Path)
    run.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="folder for run output (default: ./results)",
    )
    run.add_argument(
        "--backend",
        choices=[b.value for b in Backend],
        help="run the stack with this backend instead of the experiment's",
    )
    run.add_argument(
        "--stack",
        metavar="NAME",
        help="run against a stack kept up by `harness stack up --name NAME`",
    )
    run.set_defaults(handler=_cmd_run)

    validate = sub.add_parser(
        "validate", parents=[overrides], help="check experiment files; starts nothing"
    )
    validate.add_argument("files", type=Path, nargs="+")
    validate.set_defaults(handler=_cmd_validate)

    plan = sub.add_parser(
        "plan", parents=[overrides], help="print the resolved timeline; starts nothing"
    )
    plan.add_argument("file", type=Path)
    plan.set_defaults(handler=_cmd_plan)

    matrix = sub.add_parser(
        "matrix", parents=[overrides], help="run every variant of an experiment and compare them"
    )
    matrix.add_argument("file", type=Path)
    matrix.add_argument("--variants", help="comma-separated variants to run (default: all)")
    matrix.add_argument(
        "--expect",
        action="append",
        metavar="VARIANT=STATUS",
        help="expected verdict, e.g. before=fail after=pass; the exit code "
        "says whether every expectation held (repeatable)",
    )
    matrix.add_argument("--results", type=Path, default=Path("results"))
    matrix.set_defaults(handler=_cmd_matrix)

    stack = sub.add_parser("stack", help="game days: keep a stack up between experiments")
    stack_sub = stack.add_subparsers(dest="stack_command", required=True)
    up = stack_sub.add_parser(
        "up", parents=[overrides], help="bring an experiment's stack up and keep it up"
    )
    up.add_argument("file", type=Path)
    up.add_argument("--name", help="the stack's name (default: the experiment's)")
    up.add_argument("--backend", choices=[b.value for b in Backend])
    up.add_argument("--results", type=Path, default=Path("results"))
    up.set_defaults(handler=_cmd_stack_up)
    stack_status = stack_sub.add_parser("status", help="the stacks that are up")
    stack_status.add_argument("name", nargs="?")
    stack_status.add_argument("--results", type=Path, default=Path("results"))
    stack_status.set_defaults(handler=_cmd_stack_status)
    down = stack_sub.add_parser("down", help="take a kept-up stack down")
    down.add_argument("name")
    down.add_argument("--results", type=Path, default=Path("results"))
    down.set_defaults(handler=_cmd_stack_down)

    report = sub.add_parser("report", help="rebuild every report of a run from its JSON")
    report.add_argument("results_dir", type=Path)
    report.set_defaults(handler=_cmd_report)

    compare = sub.add_parser(
        "compare", help="compare two runs SLI by SLI; exit 1 when the candidate regressed"
    )
    compare.add_argument("baseline", type=Path, help="a results folder or a saved baseline")
    compare.add_argument("candidate", type=Path, help="a results folder")
    compare.add_argument(
        "--tolerance",
        action="append",
        metavar="SLI[@PHASE]=AMOUNT[%]",
        help="allowed regression, e.g. latency_p95=10%% or availability@recovery=0.05; "
        "'*' for every SLI, 'off' to ignore one (repeatable)",
    )
    compare.add_argument("--html", type=Path, help="also write the comparison as HTML here")
    compare.set_defaults(handler=_cmd_compare)

    schema = sub.add_parser("schema", help="print the experiment JSON Schema, for editors")
    schema.set_defaults(handler=_cmd_schema)

    proxy = sub.add_parser("proxy", help="the embedded Toxiproxy-compatible server")
    proxy_sub = proxy.add_subparsers(dest="proxy_command", required=True)
    serve = proxy_sub.add_parser("serve", help="run it, like toxiproxy-server")
    add_proxy_arguments(serve)
    serve.set_defaults(handler=_cmd_proxy)

    clean = sub.add_parser("clean", help="remove Docker containers that runs left behind")
    clean.add_argument("--run", metavar="RUN_ID", help="only this run's (default: every run's)")
    clean.set_defaults(handler=_cmd_clean)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    args = _parser().parse_args(argv)
    console = Console()
    err = Console(stderr=True)
    _configure_logging(args.verbose, err)
    try:
        code: int = args.handler(args, console)
    except ExperimentError as exc:
        err.print("[red]invalid experiment[/]")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        return EXIT_ERROR
    except HarnessError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return EXIT_ERROR
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        return EXIT_INTERRUPTED
    except Exception:
        # A bug in the harness: everything it started was torn down on the way out
        # (every step cleans up in `finally`); say so and show where it broke.
        log.exception("internal error: this is a bug in the harness, please report it")
        return EXIT_ERROR
    return code


if __name__ == "__main__":
    sys.exit(main())
