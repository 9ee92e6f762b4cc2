"""The life of one run, in the order it happens.

load and validate   (done by the caller: nothing starts for an invalid file)
stack up            PostgreSQL, the fault proxy, booking; wait until ready
load + faults       Locust drives users; the timeline adds and removes toxics
rollback            every fault removed, the proxy reset (always)
integrity           the database agrees with what clients were told
stack down          (always: errors and Ctrl-C included)
grade               SLIs per phase against the objectives
report              verdict.json and the terminal table
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.backends import create_stack
from harness.backends.base import Stack, StackEndpoints
from harness.backends.gameday import AttachedStack
from harness.backends.scraper import MetricsScraper
from harness.backends.supervisor import Supervisor
from harness.errors import HarnessError, LoadError
from harness.experiment.model import Experiment
from harness.faults.replica import ReplicaFaults
from harness.faults.timeline import FaultTimeline
from harness.faults.toxiproxy import ToxiproxyClient
from harness.faults.verify import FaultVerifier
from harness.grading.grader import grade_run
from harness.grading.integrity import IntegrityReport, check_integrity
from harness.grading.stack_metrics import summarize_stack_metrics
from harness.load.config import Arrivals, ArrivalStage, LoadConfig, Mix, Spacing, Stage
from harness.load.runner import LoadRunner, LoadRunnerError, LoadRunnerTimeout
from harness.load.stats import load_stats
from harness.report.live import LiveFeed, LiveView, active_faults
from harness.report.model import ReportError
from harness.report.results import make_run_dir, write_json
from harness.report.schema import SCHEMA_VERSION, regenerate
from harness.report.tail import StatsTail
from harness.steady_state import Check, check, check_until_holds
from harness.watch import tripped

log = logging.getLogger(__name__)

# Locust needs a moment to import and start its first users; past this it is broken.
LOAD_START_TIMEOUT = 60.0
# Extra time the load may take beyond its stages before it is stopped by force.
LOAD_GRACE = 30.0
# How often the run looks at the recorder's output (guards, probes) while the load runs.
WATCH_INTERVAL = 1.0


@dataclass
class RunContext:
    """Everything one run owns, passed between its steps instead of long argument lists."""

    experiment: Experiment
    source: Path
    run_dir: Path
    stack: Stack | None = None
    endpoints: StackEndpoints | None = None
    timeline: FaultTimeline | None = None
    t0: float | None = None
    t_end: float | None = None
    integrity: IntegrityReport | None = None
    aborted: str | None = None
    aborted_by: str | None = None  # "interrupt" | "guard" | "max_duration" | "steady_state"
    steady: list[Check] = field(default_factory=list)
    console: Console | None = None
    supervisor: Supervisor | None = None
    attached: Stack | None = None


def booking_dir_for(experiment: Experiment, source: Path) -> Path:
    """The booking service folder, relative to the experiment file."""
    return (source.parent / experiment.stack.booking.source).resolve()


def load_config_for(ctx: RunContext) -> LoadConfig:
    """The Locust side's view of the experiment."""
    load = ctx.experiment.load
    assert ctx.endpoints is not None
    arrivals = None
    if load.arrivals is not None:
        arrivals = Arrivals(
            stages=tuple(
                ArrivalStage(duration=s.duration, rate=s.rate, ramp=s.ramp)
                for s in load.arrivals.stages
            ),
            max_concurrency=load.arrivals.max_concurrency,
            spacing=Spacing(load.arrivals.spacing),
        )
    return LoadConfig(
        host=ctx.endpoints.booking_url,
        stages=tuple(Stage(s.duration, s.users, s.spawn_rate) for s in load.stages or ()),
        arrivals=arrivals,
        mix=Mix(buyer=load.mix.buyer, browser=load.mix.browser),
        stats_path=(ctx.run_dir / "load-stats.jsonl").resolve(),
        think_time=(load.think_time.min, load.think_time.max),
        request_timeout=load.request_timeout,
        seed=load.seed,
    )


def run_experiment(
    experiment: Experiment,
    source: Path,
    results_root: Path,
    console: Console | None = None,
    stack_name: str | None = None,
) -> dict[str, Any]:
    """Run one experiment end to end and return the result written to verdict.json.

    With a ``console``, a live view of the run is shown on it while the load runs. With
    ``stack_name``, the run uses that stack kept up by ``harness stack up`` and leaves
    it up; otherwise it brings its own stack up and down.
    """
    attached = AttachedStack(results_root, stack_name) if stack_name else None
    ctx = RunContext(experiment, source, make_run_dir(results_root, experiment.name))
    ctx.console = console
    ctx.attached = attached
    write_json(ctx.run_dir / "experiment.json", experiment.model_dump(mode="json"))
    log.info("run folder %s", ctx.run_dir)
    try:
        _stack_up_and_drive(ctx)
    except KeyboardInterrupt:
        # Interrupted while the stack was coming up or going down: nothing to check.
        _mark_aborted(ctx)
    return _grade_and_write(ctx)


def _mark_aborted(ctx: RunContext, by: str = "interrupt", reason: str | None = None) -> None:
    ctx.aborted_by = by
    ctx.aborted = reason or "interrupted (Ctrl-C or SIGTERM)"
    log.warning("run stopped early: %s; tearing down, results kept in %s", ctx.aborted, ctx.run_dir)


def _stack_up_and_drive(ctx: RunContext) -> None:
    stack = ctx.attached or create_stack(
        ctx.experiment.stack,
        booking_dir_for(ctx.experiment, ctx.source),
        ctx.run_dir,
        run_id=ctx.run_dir.name,
    )
    ctx.stack = stack
    try:
        ctx.endpoints = stack.start()
        write_json(ctx.run_dir / "stack.json", stack.describe())
        if not _steady_before(ctx):
            return
        try:
            with _orchestrated(ctx, stack):
                _drive_load_and_faults(ctx)
        except KeyboardInterrupt:
            _mark_aborted(ctx)
        if ctx.aborted_by != "interrupt":
            _steady_after(ctx)
        # Also after an interruption: whatever the load did is in the database now,
        # and a lost or oversold booking matters however the run ended.
        ctx.integrity = check_integrity(ctx.endpoints.database_url, _acknowledged(ctx))
    finally:
        stack.stop()
        write_json(ctx.run_dir / "stack.json", stack.describe())


@contextmanager
def _orchestrated(ctx: RunContext, stack: Stack) -> Iterator[None]:
    """While the load runs: the supervisor's liveness restarts and metrics every second."""
    supervisor = Supervisor(
        ctx.experiment.stack.supervisor,
        stack.replica_urls,
        partial(_restart, stack),
        ctx.run_dir / "restarts.jsonl",
    )
    ctx.supervisor = supervisor
    with supervisor, MetricsScraper(stack.replica_urls, ctx.run_dir / "stack-metrics.jsonl"):
        yield


def _restart(stack: Stack, name: str) -> None:
    stack.replica_action(name, "restart")


def _steady_before(ctx: RunContext) -> bool:
    """Check the hypothesis before any load or fault; False stops the run."""
    hypothesis = ctx.experiment.steady_state
    if hypothesis is None:
        return True
    assert ctx.endpoints is not None
    before = check(hypothesis, ctx.endpoints, "before")
    ctx.steady.append(before)
    if not before.ok:
        _mark_aborted(
            ctx,
            "steady_state",
            f"the steady state did not hold before the faults ({before.failures}); "
            "the experiment would prove nothing",
        )
    return before.ok


def _steady_after(ctx: RunContext) -> None:
    hypothesis = ctx.experiment.steady_state
    if hypothesis is not None and ctx.t0 is not None:
        assert ctx.endpoints is not None
        ctx.steady.append(check_until_holds(hypothesis, ctx.endpoints))


def _drive_load_and_faults(ctx: RunContext) -> None:
    assert ctx.endpoints is not None
    client = ToxiproxyClient(ctx.endpoints.toxiproxy_url)
    ctx.timeline = FaultTimeline(
        list(ctx.experiment.faults),
        client,
        ctx.run_dir / "faults.jsonl",
        verifier=FaultVerifier(client),
        replicas=ReplicaFaults(ctx.stack, ctx.experiment.load.seed) if ctx.stack else None,
    )
    runner = LoadRunner(load_config_for(ctx), ctx.run_dir)
    try:
        # The fault timeline and the phases count from the whole second the load began
        # in: the recorder files requests by whole seconds, so phase boundaries then
        # fall exactly on its buckets (a fault may start up to 1 s early, never late).
        ctx.t0 = float(math.floor(_start_load(runner)))
        log.info("load started: %.0fs", ctx.experiment.load.duration)
        ctx.timeline.start(ctx.t0)
        _watch_until_done(ctx, runner)
        ctx.t_end = time.time()
    finally:
        ctx.timeline.stop()
        runner.stop()
        if ctx.t_end is None and ctx.t0 is not None:
            ctx.t_end = time.time()


def _watch_until_done(ctx: RunContext, runner: LoadRunner) -> None:
    """Once a second until the load ends: the live view, abort guards, max duration, probes."""
    assert ctx.t0 is not None
    stats_path = ctx.run_dir / "load-stats.jsonl"
    longest_guard = max((int(g.for_) for g in ctx.experiment.abort.guards), default=0)
    tail = StatsTail(stats_path, keep_seconds=max(60, longest_guard + 5))
    feed: LiveFeed | None = LiveFeed(ctx.experiment, stats_path, tail=tail)
    with LiveView(ctx.experiment, ctx.console or Console(quiet=True)) as view:
        watcher = _Watcher(ctx, tail)
        while True:
            try:
                code = runner.wait(WATCH_INTERVAL)
                log.info("load finished (locust exit code %s)", code)
                return
            except LoadRunnerTimeout:
                pass
            except LoadRunnerError as exc:
                raise LoadError(f"the load generator did not finish: {exc}") from exc
            assert ctx.timeline is not None
            feed = _show(view, feed, ctx)
            if watcher.should_stop(time.time()):
                return


def _show(view: LiveView, feed: LiveFeed | None, ctx: RunContext) -> LiveFeed | None:
    """One update of the live view; a view that fails is dropped, never the run."""
    if feed is None:
        return None
    assert ctx.t0 is not None and ctx.timeline is not None
    try:
        view.update(feed.snapshot(ctx.t0, time.time(), active_faults(ctx.timeline.events)))
    except Exception:
        log.exception("the live view failed; the run goes on without it")
        return None
    return feed


class _Watcher:
    """The checks made once a second while the load runs."""

    def __init__(self, ctx: RunContext, tail: StatsTail) -> None:
        assert ctx.t0 is not None
        self.ctx = ctx
        self.tail = tail
        self.deadline = ctx.t0 + ctx.experiment.load.duration + LOAD_GRACE
        hypothesis = ctx.experiment.steady_state
        self.next_probe = ctx.t0 + (hypothesis.interval if hypothesis else 0.0)

    def should_stop(self, now: float) -> bool:
        """True when a guard tripped or the run reached its maximum duration."""
        ctx, abort = self.ctx, self.ctx.experiment.abort
        assert ctx.t0 is not None and ctx.endpoints is not None
        self.tail.poll()  # new lines only; the live view's poll after this finds none
        trip = tripped(abort.guards, self.tail, ctx.t0) if abort.guards else None
        if trip is not None:
            _mark_aborted(ctx, "guard", trip.reason)
            return True
        if abort.max_duration is not None and now - ctx.t0 >= abort.max_duration:
            _mark_aborted(
                ctx, "max_duration", f"the run reached abort.max_duration ({abort.max_duration:g}s)"
            )
            return True
        hypothesis = ctx.experiment.steady_state
        if hypothesis is not None and hypothesis.throughout and now >= self.next_probe:
            ctx.steady.append(check(hypothesis, ctx.endpoints, "during"))
            self.next_probe += hypothesis.interval
        if now > self.deadline:
            raise LoadError(f"the load did not finish {LOAD_GRACE:g}s after its last stage")
        return False


def _start_load(runner: LoadRunner) -> float:
    """Start Locust; the wall-clock time its test began (t0 of the fault timeline)."""
    try:
        runner.start()
        return runner.wait_started(LOAD_START_TIMEOUT)
    except LoadRunnerError as exc:
        raise LoadError(f"the load generator failed: {exc}") from exc


def _acknowledged(ctx: RunContext) -> list[str]:
    path = ctx.run_dir / "load-stats.jsonl"
    if not path.exists():
        return []
    return sorted(load_stats(path).acknowledged_booking_ids)


def _grade_and_write(ctx: RunContext) -> dict[str, Any]:
    stats_path = ctx.run_dir / "load-stats.jsonl"
    if ctx.t0 is None or ctx.t_end is None or ctx.timeline is None:
        if not ctx.aborted:
            raise LoadError(f"the load never started; see the logs in {ctx.run_dir}")
        result = _aborted_before_load(ctx)
    else:
        result = grade_run(
            ctx.experiment,
            load_stats(stats_path),
            t0=ctx.t0,
            t_end=ctx.t_end,
            integrity=ctx.integrity,
            fault_events=ctx.timeline.events,
            aborted=ctx.aborted,
            steady_failure=_steady_failure(ctx),
        )
    result["verdict"]["aborted_by"] = ctx.aborted_by
    result["steady_state"] = [c.to_json() for c in ctx.steady]
    result["restarts"] = _restarts(ctx)
    result["stack_metrics"] = summarize_stack_metrics(ctx.run_dir / "stack-metrics.jsonl")
    result["results_dir"] = str(ctx.run_dir)
    result["stack"] = ctx.stack.describe() if ctx.stack else {}
    result = {"schema_version": SCHEMA_VERSION, **result}
    write_json(ctx.run_dir / "verdict.json", result)
    try:
        written = regenerate(ctx.run_dir)
        log.info("reports: %s", ", ".join(p.name for p in written))
    except ReportError as exc:
        # The verdict is written; a report that cannot be drawn must not hide it.
        log.error("could not write the reports: %s", exc)
    return result


def _restarts(ctx: RunContext) -> list[dict[str, Any]]:
    if ctx.supervisor is None:
        return []
    t0 = ctx.t0 or 0.0
    return [
        {"t": r.t, "offset": r.t - t0, "replica": r.replica, "reason": r.reason}
        for r in ctx.supervisor.restarts
    ]


def _steady_failure(ctx: RunContext) -> str | None:
    after = [c for c in ctx.steady if c.when == "after"]
    if after and not after[-1].ok:
        return after[-1].failures
    return None


def _aborted_before_load(ctx: RunContext) -> dict[str, Any]:
    """The result of a run interrupted before any load ran: nothing to grade."""
    return {
        "experiment": {"name": ctx.experiment.name, "description": ctx.experiment.description},
        "started_at": None,
        "ended_at": time.time(),
        "verdict": {
            "status": "aborted",
            "reason": f"stopped before the load started: {ctx.aborted}",
            "objectives": [],
            "integrity": ctx.integrity.to_json() if ctx.integrity else {},
            "faults_missing": [],
        },
        "phases": [],
        "fault_events": [],
    }


__all__ = ["HarnessError", "RunContext", "run_experiment"]
