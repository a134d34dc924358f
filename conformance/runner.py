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
from typing import Any

from conformance import claims
from conformance.claims import Capture
from conformance.context import ScenarioContext
from conformance.errors import ConformanceError
from conformance.expectations import Judge, expected_findings, minimum_events, minimum_met
from conformance.findings import Finding
from conformance.profile import PLATFORMS, Profile, load_profile
from conformance.results import (
    RunEvent,
    RunFinished,
    RunNote,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
    ScenarioStarted,
)
from conformance.scenario import Scenario, load_catalogue, select
from conformance.simclient import AD_CLICK_PLATFORM, SimClient, SimulatorError
from conformance.steps import Addresses, Played, StepError, StepPlayer

FAILING_SEVERITIES = frozenset({"must", "error"})
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 8
CONNECT_TIMEOUT_S = 3.0
ASYNC_GRACE_S = 3.0
MIN_QUIET_S = 0.3  # the shortest quiet spell that counts as "the receiver has stopped sending"
UNCLAIMED_ID = "unclaimed-requests"  # the run-level result for requests no scenario accounts for
EVIDENCE_IDS = 50  # journal ids listed in a rerun's evidence; the count says how many in all


class HarnessError(ConformanceError, RuntimeError):
    """The run cannot judge anything (simulator or receiver unreachable); one line."""


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
            errors = [_harness_error(s, str(exc)) for s in scenarios]
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


def _harness_error(scenario: Scenario, reason: str) -> ScenarioResult:
    return ScenarioResult(scenario.id, scenario.title, "error", description=scenario.description,
                          tags=scenario.tags, error=reason)


Claims = dict[str, bool]  # platform family -> held exclusively


def claims_of(scenario: Scenario, platforms: set[str]) -> Claims:
    """The platform families a scenario locks, exclusive where it arms faults.

    Families, not platforms: a receiver may forward one Google click to Google Ads and Data
    Manager alike, so a fault on one must not meet the other's traffic either.
    """
    family = {p: AD_CLICK_PLATFORM.get(p, p) for p in {*platforms, *scenario.fault_platforms}}
    claims = {family[p]: False for p in platforms}
    for platform in scenario.fault_platforms:
        claims[family[platform]] = True
    return claims


def conflict(a: Claims, b: Claims) -> bool:
    """Two scenarios may not overlap when one holds exclusively a family the other touches."""
    return any(a[k] or b[k] for k in a.keys() & b.keys())


def by_priority(scenarios: list[Scenario]) -> list[Scenario]:
    """Fault scenarios first (they stop traffic on their platform), then the longest: the
    critical path then starts at once instead of ending the run with a serial tail."""
    return sorted(scenarios, key=lambda s: (not s.fault_platforms, -len(s.steps)))


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


class ScenarioRunner:
    """Plays and judges one scenario at a time; safe to call from several threads."""

    def __init__(self, client: SimClient, profile: Profile, options: RunOptions) -> None:
        self.client = client
        self.profile = profile
        self.settle = (profile.settle_seconds if options.settle_seconds is None
                       else options.settle_seconds)
        self.addresses = Addresses()

    def platforms_of(self, scenario: Scenario) -> set[str]:
        """The scenario's platforms the profile lists (the ones tested)."""
        return {p for p in scenario.platforms if self.profile.tests(p)}

    def drain(self) -> None:
        """Wait (bounded) until the mocks have received nothing new for `settle` seconds."""
        quiet = max(self.settle, MIN_QUIET_S)
        give_up = time.monotonic() + max(ASYNC_GRACE_S, 3 * quiet)
        since, after = time.time(), None
        while (remaining := give_up - time.monotonic()) > 0:
            new = self.client.wait_journal(after_id=after, since=since, count=1,
                                           timeout=min(quiet, remaining))
            if not new:
                return
            after = new[-1]["id"]

    def skip_reason(self, scenario: Scenario) -> str | None:
        """Why the profile cannot run this scenario, or None."""
        if not self.platforms_of(scenario):
            return f"the profile lists none of {', '.join(scenario.platforms)}"
        if scenario.needs_event_id_sub and not self.profile.event_id_sub:
            return "the profile names no event_id_sub (the Sub ID carrying the pixel's event ID)"
        return None

    def capture_one(self, scenario: Scenario, emit: Callable[[RunEvent], None],
                    others: list[Capture] | None = None) -> Capture | ScenarioResult:
        """Play and wait; never raises (a harness problem becomes an `error` result).

        With `others`, the scenario runs alone: everything in its window that carries no other
        scenario's identifiers is its own.
        """
        emit(ScenarioStarted(scenario.id, scenario.title))
        began = time.monotonic()
        try:
            try:
                outcome: Capture | ScenarioResult = self._capture(scenario, others)
            finally:
                # Only its own platforms: other platforms' fault scenarios may be running.
                for platform in sorted(scenario.fault_platforms):
                    self.client.clear_faults(platform)
        except (StepError, SimulatorError, HarnessError) as exc:
            outcome = _harness_error(scenario, str(exc))
        except Exception as exc:  # a harness bug must cost one scenario, not the run
            outcome = _harness_error(scenario, f"{type(exc).__name__}: {exc}")
        outcome.duration_s = time.monotonic() - began
        return outcome

    def _capture(self, scenario: Scenario, others: list[Capture] | None) -> Capture:
        platforms = self.platforms_of(scenario)
        started = time.time()
        player = StepPlayer(self.client, self.profile, self.addresses,
                            delivery_timeout=scenario.timeout_s)
        played = player.play(scenario)
        deadline = time.monotonic() + scenario.timeout_s
        self.client.wait_delivered(played.all_delivery_ids, scenario.timeout_s)
        # The receiver has answered every postback; one that forwards asynchronously gets a
        # grace period, not the whole timeout, so a silent receiver fails fast.
        deadline = min(deadline, time.monotonic() + max(ASYNC_GRACE_S, 3 * self.settle))
        capture = Capture(scenario, played, platforms, started, started,
                          exclusive=others is not None)
        seen = self._await_events(scenario, capture, others, deadline)
        capture.ended = time.time()
        if others is not None:  # concurrent runs are tied to their requests after all played
            claims.claim_exclusive(capture, seen, others)
        capture.deliveries = self.client.deliveries(played.all_delivery_ids)
        return capture

    def judge(self, capture: Capture) -> ScenarioResult:
        """The scenario's verdict over what it captured: rules plus its own expectations."""
        scenario, played = capture.scenario, capture.played
        ctx = self._context(capture)
        platforms = capture.platforms | {e["platform"] for e in capture.journal
                                         if e.get("platform") in PLATFORMS}
        findings = self._judge(scenario, ctx, played, platforms)
        expected, missing = expected_findings(scenario, ctx, findings, capture.platforms)
        findings += missing
        failing = [f for i, f in enumerate(findings)
                   if i not in expected and f.severity in FAILING_SEVERITIES]
        names = {n: c["conversion_id"] for n, c in played.conversions.items()}
        evidence: dict[str, Any] = {"deliveries": capture.deliveries, "journal": capture.journal,
                                    "conversions": names,
                                    "pairing": ctx.pairing.describe()}
        if capture.browser_events:
            evidence["browser_events"] = capture.browser_events
        if capture.exclusive:
            evidence["ran_alone"] = {
                "reason": "requests in its concurrent run could not be tied to one scenario",
                "superseded_count": len(capture.superseded),
                "superseded_journal_ids": capture.superseded[:EVIDENCE_IDS]}
        return ScenarioResult(
            scenario.id, scenario.title, "failed" if failing else "passed",
            duration_s=getattr(capture, "duration_s", 0.0),
            findings=[f.to_dict() for f in findings], description=scenario.description,
            tags=scenario.tags, evidence=evidence)

    # -- waiting ------------------------------------------------------------------------------

    def _await_events(self, scenario: Scenario, capture: Capture,
                      others: list[Capture] | None, deadline: float) -> list[dict[str, Any]]:
        """The journal entries since the scenario began, once its expected minimums are there
        (or the deadline), plus a settle window that catches late duplicates and unwanted
        requests. Running alone, every entry no other scenario claims counts towards them."""
        since = capture.started - claims.WINDOW_SLACK_S
        wanted = minimum_events(scenario, capture.platforms)
        seen: list[dict[str, Any]] = []
        mine: list[dict[str, Any]] = []

        def read(timeout: float | None) -> None:
            # Only entries after the last one read: each poll decodes new entries only.
            after = seen[-1]["id"] if seen else None
            new = (self.client.journal(since=since, after_id=after) if timeout is None else
                   self.client.wait_journal(after_id=after, since=since, count=1,
                                            timeout=timeout))
            seen.extend(new)
            if others is None:
                mine.extend(e for e in new if capture.claims(e))
            else:
                # Its own first run's identifiers are another run's: `is not`, not its ID.
                mine.extend(e for e in new if e.get("api") != claims.PIXEL_API
                            and not any(o.claims(e) for o in others if o is not capture))

        read(None)
        while wanted and not minimum_met(wanted, capture.played.conversions, mine,
                                         alone=others is not None):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            read(min(remaining, 2.0))
        # Settle until nothing this scenario could own has arrived for `settle` seconds (its
        # own identifiers; running alone or holding a faulted platform, anything on its
        # platforms), so a receiver still forwarding is heard before faults are cleared.
        hard_stop = max(deadline, time.monotonic() + self.settle)
        quiet_until = time.monotonic() + self.settle
        while (remaining := min(quiet_until, hard_stop) - time.monotonic()) > 0:
            before = len(seen)
            read(remaining)
            if any(self._could_own(capture, e, others) for e in seen[before:]):
                quiet_until = time.monotonic() + self.settle
        read(None)
        return seen

    @staticmethod
    def _could_own(capture: Capture, entry: dict[str, Any], others: list[Capture] | None
                   ) -> bool:
        if capture.claims(entry):
            return True
        on_its_platforms = claims.family_of(entry) in capture.families
        if others is not None:
            return on_its_platforms and not any(o.claims(entry) for o in others
                                                if o is not capture)
        return on_its_platforms and bool(capture.scenario.fault_platforms)

    # -- judging ------------------------------------------------------------------------------

    def _context(self, capture: Capture) -> ScenarioContext:
        played = capture.played
        return ScenarioContext(
            scenario_id=capture.scenario.id,
            profile=self.profile,
            ad_clicks=[a for a in played.ad_clicks.values() if a.get("id")],
            clicks=list(played.clicks.values()),
            conversions=list(played.conversions.values()),
            deliveries=capture.deliveries,
            journal=capture.journal,
            started_at=capture.started,
            finished_at=capture.ended,
            settings=dict(capture.scenario.settings),
            browser_events=capture.browser_events,
        )

    def _judge(self, scenario: Scenario, ctx: ScenarioContext, played: Played,
               platforms: set[str]) -> list[Finding]:
        from conformance.rules import run_rules

        findings = run_rules(ctx, platforms=sorted(platforms))
        extra = scenario.expect.get("rules") or []
        if extra:
            seen = {(f.rule, f.message) for f in findings}
            findings += [f for f in run_rules(ctx, rule_ids=extra)
                         if (f.rule, f.message) not in seen]
        findings += Judge(scenario, ctx, played.conversions, platforms).run()
        return findings
