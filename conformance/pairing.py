"""Which conversion each platform request and event stands for, within one scenario.

A scenario's context holds only its own conversions and the requests tied to it (see
`conformance.claims`), so an event that carries no identifier can still be paired: by what it
does carry (event ID, click ID or a fragment of one), then by value, then by event time, and
failing all of those by cause: the conversion whose postback the receiver was handling (or had
most recently been sent) when the request arrived. How each pair was made is kept, so a report
can say why an event was counted for a conversion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from simulator.clock import parse_iso

if TYPE_CHECKING:
    from conformance.context import ScenarioContext

Row = dict[str, Any]
Key = tuple[Any, Any]  # (journal entry id, event index)
KIND_BY_PLATFORM = {"meta": "fbclid", "tiktok": "ttclid", "google_ads": "gclid",
                    "datamanager": "gclid"}
MIN_FRAGMENT = 12  # shorter shared text is coincidence, not a click ID fragment
ATTEMPT_SLACK_S = 0.5  # a request logged just after the receiver answered still belongs to it


def attempt_spans(deliveries: list[Row]) -> list[tuple[float, float, Row, Row]]:
    """(start, end, attempt, delivery) of every postback attempt, oldest first."""
    spans = []
    for delivery in deliveries:
        for attempt in delivery.get("attempts") or []:
            try:
                start = parse_iso(attempt["started_at"]).timestamp()
            except (KeyError, TypeError, ValueError):
                continue
            end = start + float(attempt.get("latency_ms") or 0.0) / 1000.0
            spans.append((start, end, attempt, delivery))
    return sorted(spans, key=lambda s: s[0])


class Pairing:
    """Pairs a context's events and requests with its conversions; build once per context."""

    def __init__(self, ctx: ScenarioContext) -> None:
        self.ctx = ctx
        self.events: dict[Key, Row | None] = {}
        self.reasons: dict[Key, str] = {}
        self.spans = attempt_spans(ctx.deliveries)
        by_internal = {c.get("id"): c for c in ctx.conversions}
        self.delivered = [by_internal[d.get("conversion_id")] for d in ctx.deliveries
                          if d.get("conversion_id") in by_internal]
        self.load: dict[int, int] = defaultdict(int)  # requests matched to each attempt
        self._issued: dict[int, str] = {}  # each conversion's click ID, by id() of its row
        counts: dict[Any, int] = defaultdict(int)
        for entry, event in ctx.events():
            key = (entry.get("id"), event.get("index"))
            found, reason = ctx.identified_conversion(event), "identifier"
            if found is None:
                found, reason = self._fallback(entry, event, counts)
            self.events[key] = found
            if found is not None:
                self.reasons[key] = reason
                counts[found.get("id")] += 1
        self.unparsed: dict[Any, Row | None] = {}
        for entry in sorted(ctx.journal, key=lambda e: (e.get("ts") or 0.0, e.get("id") or 0)):
            if not entry.get("events"):
                candidates = self._candidates(str(entry.get("platform")))
                self.unparsed[entry.get("id")] = self._owner_of_unparsed(entry, candidates)

    def describe(self) -> list[dict[str, Any]]:
        """Each event's conversion and why it was paired so (for the report's evidence)."""
        return [{"journal_id": key[0], "event_index": key[1],
                 "conversion_id": (found or {}).get("conversion_id"),
                 "reason": self.reasons.get(key, "no conversion of this scenario")}
                for key, found in self.events.items()]

    # -- events --------------------------------------------------------------------------------

    def _candidates(self, platform: str) -> list[Row]:
        """Conversions this platform's requests may stand for: the ones the network delivered
        (all if none was), without those whose ad click belongs to another platform."""
        pool = _unique(self.delivered) or list(self.ctx.conversions)
        kind = KIND_BY_PLATFORM.get(platform)
        out = []
        for conversion in pool:
            ad_click = (conversion.get("click") or {}).get("ad_click") or {}
            if not ad_click.get("kind") or ad_click.get("kind") == kind:
                out.append(conversion)
        return out

    def _fallback(self, entry: Row, event: Row, counts: Mapping[Any, int]
                  ) -> tuple[Row | None, str]:
        candidates = self._candidates(str(entry.get("platform")))
        if not candidates:
            return None, ""
        texts = _fragment_texts(event)
        fragment = [c for c in candidates if self._shares_click_fragment(c, texts)]
        if len(fragment) == 1:
            return fragment[0], "click ID fragment"
        candidates = fragment or candidates
        if len(candidates) == 1:
            return candidates[0], "the scenario's only conversion"
        valued = [c for c in candidates if self.ctx.value_matches(c, event)]
        candidates = valued or candidates
        if len(candidates) == 1:
            return candidates[0], "value"
        timed = self._nearest_in_time(candidates, event)
        if len(timed) == 1:
            return timed[0], "event time"
        candidates = timed or candidates
        caused = self.cause_of(entry, candidates)
        if caused is not None:
            return caused, "postback being handled when the request arrived"
        return min(candidates, key=lambda c: counts.get(c.get("id"), 0)), "order"

    def _shares_click_fragment(self, conversion: Row, texts: list[str]) -> bool:
        """The event (its `_fragment_texts`) carries the conversion's click ID, or a piece of
        it, in any field (a bare fbclid in fbc, a truncated gclid), whether or not the mock
        could read a click ID."""
        issued = self._issued.get(id(conversion))
        if issued is None:
            click = conversion.get("click")
            issued = str(((click or {}).get("ad_click") or {}).get("click_id")
                         or self.ctx.sub_value(click))
            self._issued[id(conversion)] = issued
        if len(issued) < MIN_FRAGMENT:
            return False
        return any(issued in text or text in issued for text in texts)

    def _nearest_in_time(self, candidates: list[Row], event: Row) -> list[Row]:
        """The candidates nearest the event's time (ties within a second), if any is close."""
        from conformance.context import event_seconds

        when = event_seconds(event)
        if when is None:
            return []
        tolerance = float(self.ctx.setting("event_time_tolerance_s"))
        gaps = {id(c): abs(float(c.get("ts") or 0.0) - when) for c in candidates}
        close = [c for c in candidates if gaps[id(c)] <= tolerance]
        if not close:
            return []
        best = min(gaps[id(c)] for c in close)
        return [c for c in close if gaps[id(c)] - best <= 1.0]

    def cause_of(self, entry: Row, candidates: list[Row]) -> Row | None:
        """The candidate whose postback attempt was in flight when the request arrived (of
        several in flight, the one that has caused fewest requests so far: requests are matched
        to attempts in arrival order), else likewise among the attempts started before it (a
        receiver forwarding from a queue). Call once per request, oldest first."""
        ts = float(entry.get("ts") or 0.0)
        ids = {c.get("id"): c for c in candidates}
        started = [i for i, (start, _, _, d) in enumerate(self.spans)
                   if start <= ts and d.get("conversion_id") in ids]
        if not started:
            return None
        in_flight = [i for i in started if ts <= self.spans[i][1] + ATTEMPT_SLACK_S]
        chosen = min(in_flight or started, key=lambda i: (self.load[i], self.spans[i][0]))
        self.load[chosen] += 1
        return ids[self.spans[chosen][3].get("conversion_id")]

    # -- requests ------------------------------------------------------------------------------

    def requests_for(self, conversion: Row, platform: str) -> list[Row]:
        """Every request to `platform` that stands for this conversion: its paired events, else
        (a body the platform could not parse) its IDs in the body, else its postback's cause."""
        wanted = conversion.get("id")
        out = []
        for entry in self.ctx.journal:
            if entry.get("platform") != platform:
                continue
            events = entry.get("events") or []
            if events:
                owners = {(self.events.get((entry.get("id"), e.get("index"))) or {}).get("id")
                          for e in events}
                if wanted in owners:
                    out.append(entry)
            else:
                owner = self.unparsed.get(entry.get("id"))
                if owner is not None and owner.get("id") == wanted:
                    out.append(entry)
        return out

    def _owner_of_unparsed(self, entry: Row, candidates: list[Row]) -> Row | None:
        """A body the platform could not parse: the conversion whose ID it carries, else the one
        whose click ID it carries (shared click IDs decided by cause), else by cause."""
        if not candidates:
            return None
        named = [c for c in candidates if mentions(entry, [str(c.get("conversion_id") or "")])]
        if len(named) == 1:
            return named[0]
        clicked = named or [c for c in candidates if (c.get("click") or {}).get("ad_click")
                            and mentions(entry, [self.ctx.sub_value(c.get("click"))])]
        if len(clicked) == 1:
            return clicked[0]
        pool = clicked or candidates
        return pool[0] if len(pool) == 1 else self.cause_of(entry, pool)


def mentions(entry: Mapping[str, Any], needles: list[str]) -> bool:
    """True when the raw body carries any needle (URL-decoded too: Meta accepts form bodies)."""
    body = entry.get("body") or ""
    decoded = unquote_plus(body) if "%" in body or "+" in body else body
    lowered = decoded.lower()
    return any(n and (n in body or n in decoded or n.lower() in lowered) for n in needles)


def _fragment_texts(event: Row) -> list[str]:
    """The event's parsed click ID and every string it was sent with, long enough to carry a
    click ID fragment: read once per event, not once per candidate conversion."""
    parsed = str((event.get("click_id") or {}).get("value") or "")
    return [text for text in (parsed, *_strings(event.get("raw"))) if len(text) >= MIN_FRAGMENT]


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value (JSON strings decoded by the mock are walked too)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _unique(rows: list[Row]) -> list[Row]:
    seen: set[Any] = set()
    out = []
    for row in rows:
        if row.get("id") not in seen:
            seen.add(row.get("id"))
            out.append(row)
    return out
