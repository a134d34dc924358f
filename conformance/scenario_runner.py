"""Playing and judging one scenario: the steps, the wait on the journal, the verdict.

`conformance.runner` schedules many of these at once and ties the run's requests to them
(`conformance.claims`); a `ScenarioRunner` knows one scenario at a time and is thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conformance import claims
from conformance.claims import Capture
from conformance.context import ScenarioContext
from conformance.errors import HarnessError
from conformance.expectations import Judge, expected_findings, minimum_events, minimum_met
from conformance.findings import Finding
from conformance.profile import PLATFORMS, Profile
from conformance.results import RunEvent, ScenarioResult, ScenarioStarted
from conformance.scenario import Scenario
from conformance.simclient import SimClient, SimulatorError
from conformance.steps import Addresses, Played, StepError, StepPlayer
from simulator import personas

if TYPE_CHECKING:
    from conformance.runner import RunOptions

FAILING_SEVERITIES = frozenset({"must", "error"})
ASYNC_GRACE_S = 3.0
MIN_QUIET_S = 0.3  # the shortest quiet spell that counts as "the receiver has stopped sending"
EVIDENCE_IDS = 50  # journal ids listed in a rerun's evidence; the count says how many in all


def harness_error(scenario: Scenario, reason: str) -> ScenarioResult:
    """The `error` result of a scenario the harness could not judge."""
    return ScenarioResult(scenario.id, scenario.title, "error", description=scenario.description,
                          tags=scenario.tags, error=reason)


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
        network = getattr(self.profile, "network", None) or personas.DEFAULT
        if scenario.networks and network not in scenario.networks:
            return (f"about {', '.join(scenario.networks)}'s postbacks; the run plays {network} "
                    "(--network)")
        if scenario.needs_event_id_sub and not self.profile.event_id_sub:
            return "the profile names no event_id_sub (the Sub ID carrying the pixel's event ID)"
        spill = scenario.own_subs & set(self.profile.click_id_overflow)
        if spill:
            return (f"the scenario fills {', '.join(sorted(spill))}, which the profile keeps for "
                    "a long click ID's spill-over (click_id_overflow)")
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
            outcome = harness_error(scenario, str(exc))
        except Exception as exc:  # a harness bug must cost one scenario, not the run
            outcome = harness_error(scenario, f"{type(exc).__name__}: {exc}")
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
