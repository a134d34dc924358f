"""The runner: plays scenarios through a simulator against a receiver and yields events.

It never prints. `run()` starts its own simulator in-process unless given `sim_url`, checks the
receiver answers first, runs scenarios concurrently where their requests can be told apart, waits
on the journal instead of sleeping, and judges each scenario with the rules registry plus the
scenario's own expectations. A fault armed for a platform is consumed by the next request to it,
whoever sent it, so platforms are locked reader/writer style: a scenario shares its platforms, a
scenario that arms faults holds those exclusively (see `claims_of` and `_run_scheduled`).
"""

from __future__ import annotations

import queue
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from conformance import claims
from conformance.claims import Capture
from conformance.errors import HarnessError
from conformance.profile import Profile, load_profile
from conformance.results import (
    RunEvent,
    RunFinished,
    RunNote,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
)
from conformance.scenario import Scenario, load_catalogue, select
from conformance.scenario_runner import ScenarioRunner, harness_error
from conformance.simclient import AD_CLICK_PLATFORM, SimClient, SimulatorError

DEFAULT_PORT = 8000
DEFAULT_WORKERS = 8
CONNECT_TIMEOUT_S = 3.0
UNCLAIMED_ID = "unclaimed-requests"  # the run-level result for requests no scenario accounts for


@dataclass(frozen=True)
class RunOptions:
    """How to run: which simulator, how many scenarios at once, how long to settle."""

    sim_url: str | None = None
    port: int = DEFAULT_PORT
    grpc_port: int | None = None  # the in-process gRPC mock's; None: port + 1
    workers: int = DEFAULT_WORKERS
    settle_seconds: float | None = None  # None: the profile's value


def check_receiver(profile: Profile, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise HarnessError unless the receiver accepts a TCP connection."""
    host, port = profile.receiver_address
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise HarnessError(
            f"receiver unreachable at {host}:{port} (from {profile.source} postback_url): "
            f"{exc.strerror or exc}"
        ) from None


def start_simulator(port: int, stack: ExitStack, grpc_port: int | None = None) -> str:
    """An in-process simulator (in-memory, fast retries) on 127.0.0.1:port, with its Google Ads
    gRPC mock on `grpc_port` (None: port + 1, any when port is 0); returns its URL."""
    from conformance.grpc_mock import start_beside
    from simulator import SimConfig, create_app
    from simulator.app import shutdown
    from simulator.config import FAST_RETRY_SCHEDULE
    from simulator.server import BackgroundServer

    app = create_app(SimConfig(db_path=":memory:", retry_schedule=FAST_RETRY_SCHEDULE,
                               delivery_timeout=15.0))
    stack.callback(shutdown, app)
    try:
        server = BackgroundServer(app, port=port)
    except OSError as exc:
        raise HarnessError(
            f"cannot start the simulator on 127.0.0.1:{port}: {exc.strerror or exc} "
            "(use --port or --sim-url)"
        ) from None
    server.start()
    stack.callback(server.stop)
    try:
        start_beside(app, port, grpc_port, stack)
    except OSError as exc:
        raise HarnessError(f"cannot start the gRPC mock: {exc} (use --grpc-port)") from None
    return server.url


def run(
    profile: Profile,
    scenarios: list[Scenario],
    options: RunOptions | None = None,
) -> Iterator[RunEvent]:
    """Run the scenarios; yields RunStarted, ScenarioStarted/Finished per scenario, RunFinished.

    A harness problem (simulator or receiver unreachable) ends every scenario as `error` with the
    one-line reason, so the exit code is 2.
    """
    options = options or RunOptions()
    began = time.monotonic()
    host, port = profile.receiver_address
    receiver = f"{host}:{port}"
    with ExitStack() as stack:
        sim_url = options.sim_url or ""
        try:
            if not options.sim_url:
                sim_url = start_simulator(options.port, stack, options.grpc_port)
            client = SimClient(sim_url)
            stack.callback(client.close)
            client.ping()
            check_receiver(profile)
            client.set_global_postback(profile.network_postback_url, profile.network)
            client.clear_faults()
        except (HarnessError, SimulatorError) as exc:
            yield RunStarted(total=len(scenarios), sim_url=sim_url, receiver=receiver,
                             aborted=str(exc))
            errors = [harness_error(s, str(exc)) for s in scenarios]
            for error in errors:
                yield ScenarioFinished(error)
            yield RunFinished(RunSummary(errors, time.monotonic() - began))
            return
        yield RunStarted(total=len(scenarios), sim_url=sim_url, receiver=receiver)
        run_since = time.time() - claims.WINDOW_SLACK_S
        scenario_runner = ScenarioRunner(client, profile, options)
        results: dict[str, ScenarioResult] = {}
        runnable = []
        for scenario in scenarios:
            skipped = scenario_runner.skip_reason(scenario)
            if skipped:
                result = ScenarioResult(
                    scenario.id, scenario.title, "skipped", description=scenario.description,
                    tags=scenario.tags, error=skipped)
                results[scenario.id] = result
                yield ScenarioFinished(result)
            else:
                runnable.append(scenario)
        for event in _judge_all(scenario_runner, runnable, options.workers, run_since):
            if isinstance(event, ScenarioFinished):
                results[event.result.id] = event.result
            yield event
        ordered = [results[s.id] for s in scenarios if s.id in results]
        if UNCLAIMED_ID in results:
            ordered.append(results[UNCLAIMED_ID])
        yield RunFinished(RunSummary(ordered, time.monotonic() - began))


def _judge_all(scenario_runner: ScenarioRunner, scenarios: list[Scenario], workers: int,
               run_since: float) -> Iterator[RunEvent]:
    """Play every scenario concurrently, tie the run's requests to them, rerun alone the ones
    whose requests could not be told apart, and report what no scenario accounts for."""
    jobs = [(s, claims_of(s, scenario_runner.platforms_of(s))) for s in by_priority(scenarios)]
    captures: dict[str, Capture] = {}
    for event in _run_scheduled(scenario_runner.capture_one, jobs, workers):
        if isinstance(event, Capture):
            captures[event.scenario.id] = event
        else:
            yield event
    # A receiver that forwards after answering may still be sending: let it go quiet first.
    scenario_runner.drain()
    plan = claims.reconcile(captures.values(), scenario_runner.client.journal_since(run_since))
    for scenario in scenarios:
        if scenario.id in captures and scenario.id not in plan.rerun:
            yield ScenarioFinished(scenario_runner.judge(captures[scenario.id]))
    final = {sid: c for sid, c in captures.items() if sid not in plan.rerun}
    superseded = {i for ids in plan.rerun.values() for i in ids}
    reruns = [s for s in scenarios if s.id in plan.rerun]
    if reruns:
        yield RunNote(f"{len(reruns)} scenario(s) rerun alone: some requests carried no "
                      "scenario's identifiers, or several scenarios', so they could not be tied "
                      "to one")
    for scenario in reruns:
        first = captures[scenario.id]
        superseded |= {e["id"] for e in (*first.journal, *first.browser_events)}
        scenario_runner.drain()  # stragglers of the previous run land before this window opens
        known = [*captures.values(), *(c for c in final.values() if c.exclusive)]
        outcome = scenario_runner.capture_one(scenario, lambda _event: None, others=known)
        if isinstance(outcome, ScenarioResult):
            yield ScenarioFinished(outcome)
            continue
        outcome.superseded = sorted({*plan.rerun[scenario.id], *(e["id"] for e in first.journal)})
        final[scenario.id] = outcome
        yield ScenarioFinished(scenario_runner.judge(outcome))
    scenario_runner.drain()  # late requests are reported below, not lost after the run
    taken = {part for c in final.values() for part in c.parts()}
    left_entries, left = [], []
    for entry in scenario_runner.client.journal_since(run_since):
        missing = [(entry, event) for part, event in claims.parts_of(entry)
                   if part not in taken and entry["id"] not in superseded]
        if missing:
            left_entries.append(entry)
            left += missing
    if left:
        replaced = [captures[s.id] for s in reruns]
        findings = claims.unclaimed_findings(left, final.values(), replaced)
        yield ScenarioFinished(ScenarioResult(
            UNCLAIMED_ID, "Every platform request belongs to a scenario", "failed",
            findings=[f.to_dict() for f in findings], tags=["run"],
            description="Platform requests recorded during the run that no scenario accounts "
                        "for (see docs/how-the-suite-decides.md).",
            evidence={"journal": left_entries}))


def run_scenarios(
    profile_path: str | Path,
    *,
    scenario_ids: list[str] | None = None,
    tags: list[str] | None = None,
    sim_url: str | None = None,
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
    grpc_port: int | None = None,
    scenario_dirs: list[str | Path] | None = None,
    network: str | None = None,
) -> Iterator[RunEvent]:
    """The CLI's entry: load the profile, select catalogue scenarios (built-in and those in
    `scenario_dirs`) by id/tag, run them.

    ProfileError / ScenarioError (ConformanceError) are raised on the first `next()`, before
    any event, so the caller reports one line and exits 2.
    """
    profile = load_profile(profile_path).with_network(network)
    chosen = select(load_catalogue(extra=scenario_dirs or ()), ids=scenario_ids, tags=tags)
    yield from run(profile, chosen, RunOptions(sim_url=sim_url, port=port, workers=workers,
                                                grpc_port=grpc_port))


Claims = dict[str, bool]  # platform family (or the network's postback) -> held exclusively
NETWORK_CLAIM = "network-postback"


def claims_of(scenario: Scenario, platforms: set[str]) -> Claims:
    """The platform families a scenario locks, exclusive where it arms faults.

    Families, not platforms: a receiver may forward one Google click to Google Ads and Data
    Manager alike, so a fault on one must not meet the other's traffic either.
    """
    family = {p: AD_CLICK_PLATFORM.get(p, p) for p in {*platforms, *scenario.fault_platforms}}
    claims = {family[p]: False for p in platforms}
    for platform in scenario.fault_platforms:
        claims[family[platform]] = True
    # Every scenario's postbacks go through the network's one postback; `alone` holds it.
    claims[NETWORK_CLAIM] = scenario.alone
    return claims


def conflict(a: Claims, b: Claims) -> bool:
    """Two scenarios may not overlap when one holds exclusively a family the other touches."""
    return any(a[k] or b[k] for k in a.keys() & b.keys())


def by_priority(scenarios: list[Scenario]) -> list[Scenario]:
    """Scenarios that run alone first, then fault scenarios (they stop traffic on their
    platform), then the longest: the critical path then starts at once instead of ending the run
    with a serial tail."""
    return sorted(scenarios, key=lambda s: (not s.alone, not s.fault_platforms, -len(s.steps)))


def _run_scheduled(
    run_one: Callable[[Scenario, Callable[[RunEvent], None]], Capture | ScenarioResult],
    jobs: list[tuple[Scenario, Claims]],
    workers: int,
) -> Iterator[RunEvent | Capture]:
    """Run scenarios on up to `workers` threads, yielding their events (and captures) as they
    happen.

    A job starts, in list order, once a lane is free and it conflicts with no running job and no
    earlier job still waiting: a waiting fault scenario is not overtaken by new readers of its
    platform (no starvation), and two jobs that conflict never overlap.
    """
    if not jobs:
        return
    events: queue.Queue[RunEvent | Capture | int] = queue.Queue()

    def work(index: int, scenario: Scenario) -> None:
        try:
            outcome = run_one(scenario, events.put)
            events.put(ScenarioFinished(outcome) if isinstance(outcome, ScenarioResult)
                       else outcome)
        finally:
            events.put(index)

    waiting = list(enumerate(jobs))
    running: dict[int, Claims] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scenario") as pool:
        while waiting or running:
            held = list(running.values())
            for index, (scenario, claims) in list(waiting):
                if len(running) >= max(1, workers):
                    break
                if any(conflict(claims, other) for other in held):
                    held.append(claims)
                    continue
                waiting.remove((index, (scenario, claims)))
                running[index] = claims
                held.append(claims)
                pool.submit(work, index, scenario)
            event = events.get()
            if isinstance(event, int):
                del running[event]
            else:
                yield event
