"""Tying every platform request recorded during a run to exactly one scenario, or reporting it.

Scenarios run concurrently and the receiver's requests land in one journal. A request is a
scenario's when it carries one of the scenario's needles (its issued click IDs, conversion IDs,
visitor IPs) or the mock attributed it to one of its ad clicks. A request that carries none, or
the needles of several scenarios, cannot be told apart: every scenario whose window it fell in
(on the same platform family) is rerun alone, holding every platform, so that whatever arrives
during the rerun is its own. What is still left over is a run-level finding (RUN-001).
See docs/how-the-suite-decides.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.findings import Finding
from conformance.pairing import mentions
from conformance.scenario import Scenario
from conformance.simclient import AD_CLICK_PLATFORM
from conformance.steps import Played

Row = dict[str, Any]
WINDOW_SLACK_S = 0.5  # a request logged a moment before play began or after the settle ended
UNCLAIMED_RULE = "RUN-001"
UNCLAIMED_DOC = "docs/how-the-suite-decides.md"  # the suite's own rule: no platform doc behind it
PIXEL_API = "pixel"


@dataclass
class Capture:
    """One played scenario waiting to be judged: what it created, its window, its requests."""

    scenario: Scenario
    played: Played
    platforms: set[str]
    started: float
    ended: float
    deliveries: list[Row] = field(default_factory=list)
    journal: list[Row] = field(default_factory=list)
    browser_events: list[Row] = field(default_factory=list)
    exclusive: bool = False
    # Journal ids of requests from an earlier, concurrent run of this scenario that could not be
    # told apart from another scenario's (the reason it was rerun alone).
    superseded: list[int] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def families(self) -> set[str]:
        return {AD_CLICK_PLATFORM.get(p, p) for p in self.platforms}

    @property
    def needles(self) -> list[str]:
        played = self.played
        return [*played.issued_click_ids,
                *(str(c["conversion_id"]) for c in played.conversions.values()), *played.ips]

    def claims(self, entry: Row, event: Row | None = None) -> bool:
        """The entry (or one event of it) carries this scenario's identifiers, or is a pixel
        event it recorded."""
        if entry.get("id") in self.played.browser_event_ids:
            return True
        ad_ids = {a["id"] for a in self.played.ad_clicks.values() if a.get("id")}
        events = [event] if event is not None else entry.get("events") or []
        if any((ev.get("attribution") or {}).get("ad_click_id") in ad_ids for ev in events):
            return True
        if event is None:
            return mentions(entry, self.needles)
        return mentions({"body": json.dumps(event.get("raw"), ensure_ascii=False)}, self.needles)

    def covers(self, entry: Row) -> bool:
        """The entry arrived while this scenario was playing or settling."""
        ts = float(entry.get("ts") or 0.0)
        return self.started - WINDOW_SLACK_S <= ts <= self.ended + WINDOW_SLACK_S

    def take(self, entry: Row, event: Row | None = None) -> None:
        """Add the entry, or only one of its events (a batch that mixes scenarios), to what
        this scenario is judged on; pixel events go apart."""
        if entry.get("api") == PIXEL_API:
            if all(e["id"] != entry["id"] for e in self.browser_events):
                self.browser_events.append(entry)
            return
        mine = next((e for e in self.journal if e["id"] == entry["id"]), None)
        if mine is None:
            mine = {**entry, "events": [] if event is not None else entry.get("events") or []}
            self.journal.append(mine)
            self.journal.sort(key=lambda e: e["id"])
        if event is not None and all(ev.get("index") != event.get("index")
                                     for ev in mine["events"]):
            mine["events"] = sorted([*mine["events"], event], key=lambda ev: ev.get("index") or 0)

    def parts(self) -> set[Part]:
        """The requests and events this scenario is judged on."""
        return {part for entry in (*self.journal, *self.browser_events)
                for part, _ in parts_of(entry)}


Part = tuple[Any, Any]  # (journal id, event index, or None for a request without events)


def parts_of(entry: Row) -> list[tuple[Part, Row | None]]:
    """Each event of a request with its key, or the whole request when it has none."""
    events = entry.get("events") or []
    if entry.get("api") == PIXEL_API or not events:
        return [((entry.get("id"), None), None)]
    return [((entry.get("id"), ev.get("index")), ev) for ev in events]


@dataclass
class Plan:
    """The outcome of tying a run's requests to its concurrent scenarios."""

    rerun: dict[str, list[int]] = field(default_factory=dict)  # scenario id -> journal ids
    unclaimed: list[Row] = field(default_factory=list)


def family_of(entry: Row) -> str:
    platform = str(entry.get("platform") or "")
    return AD_CLICK_PLATFORM.get(platform, platform)


def reconcile(captures: Iterable[Capture], entries: Iterable[Row]) -> Plan:
    """Give each event (each request without events) to the one scenario that claims it; plan
    reruns for the rest.

    Captures gain what they claim (late arrivals included); a batch mixing scenarios is split by
    event. An event claimed by several, or by none, marks for rerun every scenario whose window
    the request fell in on its platform family (any platform when none of them touches that
    family); with no such scenario the request is unclaimed.
    """
    captures = list(captures)
    plan = Plan()
    for entry in entries:
        contested = []
        for _, event in parts_of(entry):
            owners = [c for c in captures if c.claims(entry, event)]
            if len(owners) == 1:
                owners[0].take(entry, event)
            else:
                contested.append(owners)
        for owners in contested:
            candidates = owners or [c for c in captures if c.covers(entry)]
            same_family = [c for c in candidates if family_of(entry) in c.families]
            candidates = same_family or candidates
            if not candidates and entry not in plan.unclaimed:
                plan.unclaimed.append(entry)
            for capture in candidates:
                ids = plan.rerun.setdefault(capture.scenario.id, [])
                if entry["id"] not in ids:
                    ids.append(entry["id"])
    return plan


def claim_exclusive(capture: Capture, entries: Iterable[Row], others: Iterable[Capture]) -> None:
    """A scenario that ran alone takes every event in its window that no other scenario's
    identifiers claim, plus anything carrying its own identifiers."""
    others = [o for o in others if o is not capture]  # its own earlier run counts as other
    for entry in entries:
        for _, event in parts_of(entry):
            ours = capture.claims(entry, event)
            if ours or (capture.covers(entry)
                        and not any(o.claims(entry, event) for o in others)):
                capture.take(entry, event)


def unclaimed_findings(parts: list[tuple[Row, Row | None]], captures: Iterable[Capture],
                       replaced: Iterable[Capture] = ()) -> list[Finding]:
    """One RUN-001 finding per request (or event of a batch) no judged scenario accounts for.

    `replaced` are concurrent runs that were rerun alone: their identifiers still explain a
    request, which came too late for the run that was judged.
    """
    captures, replaced = list(captures), list(replaced)
    findings = []
    for entry, event in parts:
        late = [c.scenario.id for c in captures if c.claims(entry, event)]
        stale = [c.scenario.id for c in replaced if c.claims(entry, event)]
        if late:
            why = (f"it carries the identifiers of {', '.join(late)} but arrived after that "
                   "scenario was judged")
        elif stale:
            why = (f"it carries the identifiers of the concurrent run of {', '.join(stale)}, "
                   "which was replaced by a run alone, and arrived too late to be judged there")
        else:
            why = "it carries no identifier of any scenario and arrived outside their windows"
        what = f" event {event.get('field_prefix') or event.get('index')}" if event else ""
        findings.append(Finding(
            rule=UNCLAIMED_RULE, severity="must", platform=str(entry.get("platform") or "any"),
            message=(f"{entry.get('platform')} request #{entry.get('id')}{what} "
                     f"({entry.get('method')} {entry.get('path')}, status {entry.get('status')}) "
                     f"belongs to no scenario: {why}"),
            doc_url=UNCLAIMED_DOC,
            evidence={"journal_id": entry.get("id"),
                      "event_index": event.get("index") if event else None,
                      "received": entry.get("received_at")}))
    return findings
