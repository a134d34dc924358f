"""A scenario's own expectations, judged over its context: counts, acceptance, fields, findings.

These run next to the rules registry. Their findings carry `SCN-*` IDs (the scenario's
expectation, cited with the scenario's doc URL) so a report names what was expected and where.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from conformance.context import (
    ScenarioContext,
    event_accepted,
    event_seconds,
    fbclid_of,
    rejected_rows,
)
from conformance.findings import Finding, describe
from conformance.pairing import mentions
from conformance.retractions import retractions
from conformance.rules.values import as_number, same_currency
from conformance.scenario import Scenario
from conformance.story import tell

COUNTS = {
    "exactly_one": (1, 1, "exactly one event"),
    "none": (0, 0, "no event"),
    "at_most_one": (0, 1, "at most one event"),
    "at_least_one": (1, None, "at least one event"),
}
# count: organic_policy follows the profile's `organic` setting for the platform.
ORGANIC = {"withhold": (0, 0, "no event (the profile's organic policy is withhold)"),
           "send": (0, 1, "at most one event, without a click ID (organic policy: send)")}
DEFAULT_DOC = "https://developers.facebook.com/documentation/ads-commerce/conversions-api"
Pair = tuple[dict[str, Any], dict[str, Any]]


def minimum_events(scenario: Scenario, platforms: set[str]) -> list[tuple[str, str, int]]:
    """(conversion name or *, platform, minimum count) the runner waits for before settling."""
    out = []
    for item in scenario.expect.get("events") or []:
        count = item.get("count", "at_most_one")
        low = 0 if count == "organic_policy" else COUNTS[count][0]
        if "accepted" in item or "max_requests" in item:
            low = max(low, 1)  # the receiver is expected to send (then be refused): wait for it
        if item["platform"] in platforms and low:
            out.append((item["conversion"], item["platform"], low))
    return out


def minimum_met(wanted: list[tuple[str, str, int]], conversions: dict[str, dict[str, Any]],
                entries: list[dict[str, Any]], alone: bool = False) -> bool:
    """True once the journal entries hold every minimum of `minimum_events` for the conversions
    (by name) the scenario played. Running `alone`, every entry is the scenario's, identified or
    not, so each platform's minimums are met by its total count."""
    if alone:
        totals: dict[str, int] = defaultdict(int)
        for name, platform, low in wanted:
            totals[platform] += low * (len(conversions) if name == "*" else 1)
        return all(sum(len(e.get("events") or []) or 1 for e in entries
                       if e.get("platform") == platform) >= total
                   for platform, total in totals.items())
    for name, platform, low in wanted:
        for each in (list(conversions) if name == "*" else [name]):
            ids = _needles_of(conversions[each])
            hits = sum(len(e.get("events") or []) or 1 for e in entries
                       if e.get("platform") == platform and mentions(e, ids))
            if hits < low:
                return False
    return True


def _needles_of(conversion: dict[str, Any]) -> list[str]:
    needles = [conversion["conversion_id"]]
    ad_click = (conversion.get("click") or {}).get("ad_click")
    if ad_click:
        needles.append(ad_click["click_id"])
    ip = (conversion.get("click") or {}).get("ip")
    if ip:
        needles.append(ip)
    return needles


# Row errors by which the platform says it already has this conversion: its own deduplication
# at work, as an event_id shared with an earlier event is (platform-rules.md section 4).
# https://developers.google.com/google-ads/api/reference/rpc/v23/ConversionUploadErrorEnum.ConversionUploadError
ALREADY_COUNTED = frozenset({"CLICK_CONVERSION_ALREADY_EXISTS", "ORDER_ID_ALREADY_IN_USE",
                             "DUPLICATE_ORDER_ID"})


def counted_already(entry: dict[str, Any], event: dict[str, Any]) -> bool:
    """The platform refused this event as a duplicate of a conversion it already has."""
    return bool(ALREADY_COUNTED & set(rejected_rows(entry).get(event.get("index"), [])))


class Judge:
    """Checks one scenario's expectations against its context."""

    def __init__(self, scenario: Scenario, ctx: ScenarioContext,
                 conversions: dict[str, dict[str, Any]], platforms: set[str]) -> None:
        self.scenario = scenario
        self.ctx = ctx
        self.by_name = conversions
        self.names = {str(row["conversion_id"]): name for name, row in conversions.items()}
        self.platforms = platforms
        self.doc_url = scenario.doc_url or DEFAULT_DOC

    def bounds(self, count: str, platform: str) -> tuple[int, int | None, str]:
        """(low, high, text) of an expected count; organic_policy reads the profile."""
        if count != "organic_policy":
            return COUNTS[count]
        profile = self.ctx.profile
        policy = profile.organic_policy(platform) if hasattr(profile, "organic_policy") else (
            "withhold")
        return ORGANIC[policy]

    def finding(self, rule: str, platform: str, message: str, **evidence: Any) -> Finding:
        return Finding(rule=rule, severity="must", platform=platform, message=message,
                       doc_url=self.doc_url, evidence=evidence)

    # -- matching -----------------------------------------------------------------------------

    def pairs(self, platform: str) -> dict[str, list[Pair]]:
        """The platform's events grouped by the conversion (step name) they stand for."""
        grouped: dict[str, list[Pair]] = defaultdict(list)
        for entry, event in self.ctx.events(platform):
            conversion = self.ctx.conversion_for(entry, event)
            name = self.names.get(str((conversion or {}).get("conversion_id")))
            if name:
                grouped[name].append((entry, event))
        return grouped

    def requests(self, platform: str, name: str) -> list[dict[str, Any]]:
        """Every request to the platform standing for this conversion, parsed or not."""
        return self.ctx.pairing.requests_for(self.by_name[name], platform)

    def story(self, platform: str, name: str, requests: list[dict[str, Any]]) -> str:
        """The requests' count and statuses, and who sent the extra ones (conformance.story)."""
        internal = self.by_name[name].get("id")
        deliveries = [d for d in self.ctx.deliveries if d.get("conversion_id") == internal]
        return tell(platform, requests, deliveries)

    # -- checks -------------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        findings: list[Finding] = []
        grouped = {p: self.pairs(p) for p in self.platforms}
        for item in self.scenario.expect.get("events") or []:
            platform = item["platform"]
            if platform not in self.platforms:
                continue
            names = (list(self.by_name) if item["conversion"] == "*"
                     else [item["conversion"]])
            for name in names:
                findings.extend(self._check_item(item, name, grouped[platform].get(name, [])))
        if self.scenario.expect.get("distinct_event_ids"):
            for platform in sorted(self.platforms):
                findings.extend(self._check_distinct(platform, grouped[platform]))
        return findings

    def _check_item(self, item: dict[str, Any], name: str, pairs: list[Pair]) -> Iterator[Finding]:
        platform = item["platform"]
        conversion = self.by_name[name]
        label = f"{name} ({conversion['conversion_id']})"
        # A redelivery the platform refused as a duplicate of this conversion's accepted event
        # is the platform deduplicating, as a shared event_id is: it adds no count.
        taken = any(event_accepted(entry, ev) for entry, ev in pairs)
        keys = {str(ev.get("event_id")) if ev.get("event_id") not in (None, "")
                else f"#{entry['id']}.{ev.get('index')}" for entry, ev in pairs
                if not (taken and counted_already(entry, ev))}
        if "count" in item:
            low, high, text = self.bounds(item["count"], platform)
            if len(keys) < low or (high is not None and len(keys) > high):
                yield self.finding(
                    "SCN-EVENTS", platform,
                    f"{platform} events for conversion {label}: expected {text} (events sharing "
                    f"an event_id count once), got {len(keys)} from {len(pairs)} event(s)",
                    expected=text, received=len(keys),
                    journal_ids=sorted({e["id"] for e, _ in pairs}))
        requests = self.requests(platform, name)
        if "accepted" in item:
            refused = [code for e, ev in pairs
                       for code in rejected_rows(e).get(ev.get("index"), [])]
            accepted = any(e.get("accepted") and ev.get("index") not in rejected_rows(e)
                           for e, ev in pairs)
            if accepted != item["accepted"]:
                want = "accepted by" if item["accepted"] else "not accepted by"
                why = f"; the platform rejected the event: {', '.join(refused)}" if refused else ""
                yield self.finding(
                    "SCN-ACCEPTED", platform,
                    f"conversion {label}: expected it {want} {platform}, got "
                    f"{self.story(platform, name, requests)}{why}",
                    expected=item["accepted"], received=accepted,
                    journal_ids=[e["id"] for e in requests])
        if "max_requests" in item and len(requests) > item["max_requests"]:
            yield self.finding(
                "SCN-REQUESTS", platform,
                f"conversion {label}: expected at most {item['max_requests']} request(s) to "
                f"{platform}, got {self.story(platform, name, requests)} (a rejected request "
                "must not be sent again)",
                expected=item["max_requests"], received=len(requests),
                journal_ids=[e["id"] for e in requests])
        if "retraction" in item:
            yield from self._check_retraction(item["retraction"], label, conversion, pairs)
        for entry, event in pairs:
            for field_name in item.get("fields") or []:
                finding = self._check_field(field_name, conversion, entry, event, platform)
                if finding:
                    yield finding
            wanted = item.get("attribution")
            status = (event.get("attribution") or {}).get("status")
            if wanted and status == wanted and status not in ("matched", "absent"):
                # Expected, and still worth a line in the report: the platform gives no credit.
                yield Finding(
                    rule="SCN-ATTRIBUTION", severity="info", platform=platform,
                    message=f"{platform} cannot credit conversion {label}: "
                            f"{(event.get('attribution') or {}).get('detail')}",
                    doc_url=self.doc_url,
                    evidence={"journal_id": entry["id"], "event_index": event.get("index"),
                              "expected": wanted, "received": status})
            elif wanted and status != wanted:
                where = f"{event.get('field_prefix') or 'event'}"
                yield self.finding(
                    "SCN-ATTRIBUTION", platform,
                    describe(where, f"attribution {wanted}", status,
                             (event.get("attribution") or {}).get("detail")),
                    journal_id=entry["id"], event_index=event.get("index"),
                    expected=wanted, received=status)

    def _check_retraction(self, wanted: bool, label: str, conversion: dict[str, Any],
                          pairs: list[Pair]) -> Iterator[Finding]:
        order_ids = {str(ev["event_id"]) for _, ev in pairs if ev.get("event_id") not in (None, "")}
        order_ids.add(str(conversion["conversion_id"]))
        rejected = {e["id"]: rejected_rows(e) for e in self.ctx.journal
                    if e.get("api") == "adjust"}
        found = list(retractions(self.ctx.journal, order_ids, rejected))
        taken = [entry["id"] for entry, _, accepted in found if accepted]
        if len(taken) != (1 if wanted else 0):
            want = ("exactly one accepted RETRACTION naming its orderId" if wanted
                    else "no RETRACTION")
            yield self.finding(
                "SCN-RETRACTION", "google_ads",
                f"conversion {label}: expected {want} (uploadConversionAdjustments), got "
                f"{len(taken)} accepted of {len(found)} naming {', '.join(sorted(order_ids))}",
                expected=want, received=len(taken),
                journal_ids=sorted({entry["id"] for entry, _, _ in found}))

    def _check_field(self, name: str, conversion: dict[str, Any], entry: dict[str, Any],
                     event: dict[str, Any], platform: str) -> Finding | None:
        prefix = event.get("field_prefix") or "event"
        expected: Any
        if name == "value":
            expected, received = float(conversion["payout"]), event.get("value")
            number = as_number(received)
            ok = number is not None and abs(number - expected) <= self.ctx.setting(
                "value_tolerance")
        elif name == "currency":
            expected, received = conversion["currency"], event.get("currency")
            ok = same_currency(platform, received, expected)
        elif name == "event_time":
            expected, received = int(float(conversion["ts"])), event.get("event_time")
            seconds = event_seconds(event)
            ok = seconds is not None and abs(seconds - expected) <= self.ctx.setting(
                "event_time_tolerance_s")
        elif name == "user_agent":
            expected, received = conversion.get("user_agent"), (event.get("user") or {}).get(
                "user_agent")
            ok = received == expected
        else:
            ad_click = (conversion.get("click") or {}).get("ad_click")
            if not ad_click:
                return None
            click_id = event.get("click_id") or {}
            expected, received = ad_click["click_id"], click_id.get("value")
            if click_id.get("kind") == "fbclid" and isinstance(received, str):
                received = fbclid_of(received)
            ok = received == expected
        if ok:
            return None
        return self.finding(
            "SCN-FIELD", platform,
            describe(f"{prefix} {name}", f"{expected!r} (the postback's value)", received),
            journal_id=entry["id"], event_index=event.get("index"), field=name,
            expected=expected, received=received)

    def _check_distinct(self, platform: str, grouped: dict[str, list[Pair]]) -> Iterator[Finding]:
        owners: dict[str, set[str]] = defaultdict(set)
        for name, pairs in grouped.items():
            for _, event in pairs:
                if event.get("event_id") not in (None, ""):
                    owners[str(event["event_id"])].add(name)
        for event_id, names in sorted(owners.items()):
            if len(names) > 1:
                yield self.finding(
                    "SCN-DEDUP", platform,
                    f"{platform} event_id {event_id!r} is shared by distinct conversions "
                    f"{', '.join(sorted(names))}: the platform keeps only one of them",
                    expected="one event_id per conversion", received=event_id)


def expected_findings(
    scenario: Scenario, ctx: ScenarioContext, findings: list[Finding], platforms: set[str]
) -> tuple[set[int], list[Finding]]:
    """Indexes of findings a scenario expects (they do not fail it), and findings for the
    expected ones that did not appear."""
    wanted = scenario.expect.get("findings") or []
    matched: set[int] = set()
    missing: list[Finding] = []
    doc = scenario.doc_url or DEFAULT_DOC
    for item in wanted:
        platform = item.get("platform")
        if platform and platform not in platforms:
            continue
        if "rule" in item:
            hits = [i for i, f in enumerate(findings) if f.rule == item["rule"]
                    and (not platform or f.platform in (platform, "any"))]
            matched.update(hits)
            found = bool(hits)
        else:
            found = any(item["code"] in _codes(e) for e in ctx.journal
                        if not platform or e.get("platform") == platform)
        if not found:
            what = item.get("rule") or item.get("code")
            missing.append(Finding(
                rule="SCN-FINDING", severity="must", platform=platform or "any",
                message=f"expected finding {what} to be reported, got none", doc_url=doc,
                evidence={"expected": what, "received": None}))
    return matched, missing


def _codes(entry: dict[str, Any]) -> str:
    """Every diagnostic code an entry carries, as one searchable text."""
    parts = [f.get("code", "") for f in entry.get("findings") or []]
    for event in entry.get("events") or []:
        parts += [f.get("code", "") for f in event.get("findings") or []]
    parts.append(json.dumps(entry.get("response") or {}))
    return " ".join(parts)
