"""The runner: plays scenarios through a simulator against a receiver and yields events.

It never prints. `run()` starts its own simulator in-process unless given `sim_url`, checks the
receiver answers first, runs scenarios concurrently where their requests can be told apart
(scenarios that arm platform faults run alone), waits on the journal instead of sleeping, and
judges each scenario with the rules registry plus the scenario's own expectations.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from conformance.context import ScenarioContext
from conformance.errors import ConformanceError
from conformance.expectations import Judge, expected_findings, minimum_events
from conformance.findings import Finding
from conformance.profile import Profile, load_profile
from conformance.results import (
    RunEvent,
    RunFinished,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
    ScenarioStarted,
)
from conformance.scenario import Scenario, load_catalogue, select
from conformance.simclient import SimClient, SimulatorError
from conformance.steps import Addresses, Played, StepError, StepPlayer

FAILING_SEVERITIES = frozenset({"must", "error"})
DEFAULT_PORT = 8000
DEFAULT_WORKERS = 4
CONNECT_TIMEOUT_S = 3.0
ASYNC_GRACE_S = 3.0


class HarnessError(ConformanceError, RuntimeError):
    """The run cannot judge anything (simulator or receiver unreachable); one line."""


@dataclass(frozen=True)
class RunOptions:
    """How to run: which simulator, how many scenarios at once, how long to settle."""

    sim_url: str | None = None
    port: int = DEFAULT_PORT
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


def start_simulator(port: int, stack: ExitStack) -> str:
    """An in-process simulator (in-memory, fast retries) on 127.0.0.1:port; returns its URL."""
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
                sim_url = start_simulator(options.port, stack)
            client = SimClient(sim_url)
            stack.callback(client.close)
            client.ping()
            check_receiver(profile)
            client.set_global_postback(profile.postback_url)
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
        scenario_runner = ScenarioRunner(client, profile, options)
        results: dict[str, ScenarioResult] = {}
        runnable, alone = [], []
        for scenario in scenarios:
            if not scenario_runner.platforms_of(scenario):
                result = ScenarioResult(
                    scenario.id, scenario.title, "skipped", description=scenario.description,
                    tags=scenario.tags,
                    error=f"the profile lists none of {', '.join(scenario.platforms)}")
                results[scenario.id] = result
                yield ScenarioFinished(result)
            elif scenario.fault_platforms:
                alone.append(scenario)
            else:
                runnable.append(scenario)
        for batch, workers in ((runnable, options.workers), (alone, 1)):
            for event in _run_batch(scenario_runner.run_one, batch, workers):
                if isinstance(event, ScenarioFinished):
                    results[event.result.id] = event.result
                yield event
        ordered = [results[s.id] for s in scenarios if s.id in results]
        yield RunFinished(RunSummary(ordered, time.monotonic() - began))


def run_scenarios(
    profile_path: str | Path,
    *,
    scenario_ids: list[str] | None = None,
    tags: list[str] | None = None,
    sim_url: str | None = None,
    port: int = DEFAULT_PORT,
    workers: int = DEFAULT_WORKERS,
) -> Iterator[RunEvent]:
    """The CLI's entry: load the profile, select catalogue scenarios by id/tag, run them.

    ProfileError / ScenarioError (ConformanceError) are raised on the first `next()`, before
    any event, so the caller reports one line and exits 2.
    """
    profile = load_profile(profile_path)
    chosen = select(load_catalogue(), ids=scenario_ids, tags=tags)
    yield from run(profile, chosen, RunOptions(sim_url=sim_url, port=port, workers=workers))


def _harness_error(scenario: Scenario, reason: str) -> ScenarioResult:
    return ScenarioResult(scenario.id, scenario.title, "error", description=scenario.description,
                          tags=scenario.tags, error=reason)


def _run_batch(
    run_one: Callable[[Scenario, Callable[[RunEvent], None]], ScenarioResult],
    scenarios: list[Scenario],
    workers: int,
) -> Iterator[RunEvent]:
    """Run scenarios on `workers` threads, yielding their events as they happen."""
    if not scenarios:
        return
    events: queue.Queue[RunEvent | None] = queue.Queue()

    def work(scenario: Scenario) -> None:
        try:
            events.put(ScenarioFinished(run_one(scenario, events.put)))
        finally:
            events.put(None)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="scenario") as pool:
        for scenario in scenarios:
            pool.submit(work, scenario)
        remaining = len(scenarios)
        while remaining:
            event = events.get()
            if event is None:
                remaining -= 1
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
        self._fault_lock = threading.Lock()

    def platforms_of(self, scenario: Scenario) -> set[str]:
        """The scenario's platforms the profile lists (the ones tested)."""
        return {p for p in scenario.platforms if self.profile.tests(p)}

    def run_one(self, scenario: Scenario, emit: Callable[[RunEvent], None]) -> ScenarioResult:
        """Play, wait, judge; never raises (a harness problem becomes an `error` result)."""
        emit(ScenarioStarted(scenario.id, scenario.title))
        began = time.monotonic()
        try:
            if scenario.fault_platforms:
                with self._fault_lock:
                    try:
                        result = self._run(scenario)
                    finally:
                        self.client.clear_faults()
            else:
                result = self._run(scenario)
        except (StepError, SimulatorError, HarnessError) as exc:
            result = _harness_error(scenario, str(exc))
        except Exception as exc:  # a harness bug must cost one scenario, not the run
            result = _harness_error(scenario, f"{type(exc).__name__}: {exc}")
        result.duration_s = time.monotonic() - began
        return result

    def _run(self, scenario: Scenario) -> ScenarioResult:
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
        journal = self._await_events(scenario, played, platforms, started, deadline)
        deliveries = [self.client.delivery(i) for i in played.all_delivery_ids]
        ctx = self._context(scenario, played, journal, deliveries, started)
        findings = self._judge(scenario, ctx, played, platforms)
        expected, missing = expected_findings(scenario, ctx, findings, platforms)
        findings += missing
        failing = [f for i, f in enumerate(findings)
                   if i not in expected and f.severity in FAILING_SEVERITIES]
        names = {n: c["conversion_id"] for n, c in played.conversions.items()}
        return ScenarioResult(
            scenario.id, scenario.title, "failed" if failing else "passed",
            findings=[f.to_dict() for f in findings], description=scenario.description,
            tags=scenario.tags,
            evidence={"deliveries": deliveries, "journal": journal,
                      "conversions": names},
        )

    # -- waiting ------------------------------------------------------------------------------

    def _await_events(self, scenario: Scenario, played: Played, platforms: set[str],
                      started: float, deadline: float) -> list[dict[str, Any]]:
        """The scenario's journal entries once the expected minimums are there (or the timeout),
        plus a settle window that catches late duplicates and unwanted requests."""
        since = started - 1.0
        wanted = minimum_events(scenario, platforms)
        seen = self.client.journal(since=since)
        while wanted and not self._satisfied(wanted, played, self._mine(seen, played)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            seen = self.client.wait_journal(after_id=None, since=since, count=len(seen) + 1,
                                            timeout=min(remaining, 2.0))
        settle_until = time.monotonic() + self.settle
        while (remaining := settle_until - time.monotonic()) > 0:
            seen = self.client.wait_journal(after_id=None, since=since, count=len(seen) + 1,
                                            timeout=remaining)
        return self._mine(self.client.journal(since=since), played)

    def _satisfied(self, wanted: list[tuple[str, str, int]], played: Played,
                   entries: list[dict[str, Any]]) -> bool:
        for name, platform, low in wanted:
            names = list(played.conversions) if name == "*" else [name]
            for each in names:
                ids = _needles_of(played, each)
                hits = sum(len(e.get("events") or []) or 1 for e in entries
                           if e.get("platform") == platform and _mentions(e, ids))
                if hits < low:
                    return False
        return True

    @staticmethod
    def _mine(entries: list[dict[str, Any]], played: Played) -> list[dict[str, Any]]:
        """Entries this scenario caused: by attribution to its ad clicks, or its IDs and IPs."""
        ad_ids = {a["id"] for a in played.ad_clicks.values() if a.get("id")}
        needles = [*played.issued_click_ids,
                   *(c["conversion_id"] for c in played.conversions.values()), *played.ips]
        out = []
        for entry in entries:
            attributed = any((ev.get("attribution") or {}).get("ad_click_id") in ad_ids
                             for ev in entry.get("events") or [])
            if attributed or _mentions(entry, needles):
                out.append(entry)
        return out

    # -- judging ------------------------------------------------------------------------------

    def _context(self, scenario: Scenario, played: Played, journal: list[dict[str, Any]],
                 deliveries: list[dict[str, Any]], started: float) -> ScenarioContext:
        return ScenarioContext(
            scenario_id=scenario.id,
            profile=self.profile,
            ad_clicks=[a for a in played.ad_clicks.values() if a.get("id")],
            clicks=list(played.clicks.values()),
            conversions=list(played.conversions.values()),
            deliveries=deliveries,
            journal=journal,
            started_at=started,
            finished_at=time.time(),
            settings=dict(scenario.settings),
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


def _needles_of(played: Played, name: str) -> list[str]:
    conversion = played.conversions[name]
    needles = [conversion["conversion_id"]]
    ad_click = (conversion.get("click") or {}).get("ad_click")
    if ad_click:
        needles.append(ad_click["click_id"])
    ip = (conversion.get("click") or {}).get("ip")
    if ip:
        needles.append(ip)
    return needles


def _mentions(entry: dict[str, Any], needles: list[str]) -> bool:
    """True when the raw body carries any needle (URL-decoded too: Meta accepts form bodies)."""
    body = entry.get("body") or ""
    decoded = unquote_plus(body) if "%" in body or "+" in body else body
    lowered = decoded.lower()
    return any(n and (n in body or n in decoded or n.lower() in lowered) for n in needles)
