"""The load verdict: every fired conversion produced exactly one accepted platform event (or
redeliveries sharing one dedup key); none lost, none doubled, none unaccounted for. Plus the
latencies, throughput and errors, and the rules' findings on a sample of the requests.

Pure: `Tally` reads journal entries as they come (keeping full entries only for the sample) and
`Tally.report()` builds the `LoadReport`; `conformance.load.engine` does the waiting.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from conformance.context import ScenarioContext, fbclid_of
from conformance.expectations import rejected_rows
from conformance.load.ledger import Fired, Ledger
from conformance.profile import Profile

FAILING_SEVERITIES = frozenset({"must", "error"})
LISTED = 50  # conversions listed by ID per problem; the counts are always whole
PIXEL_API = "pixel"


def percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    """p50/p95/p99 (nearest rank) and the count; None when there is nothing to rank."""
    ranked = sorted(values)
    out: dict[str, float | int | None] = {"count": len(ranked)}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        out[name] = (round(ranked[max(0, math.ceil(q * len(ranked)) - 1)], 1)
                     if ranked else None)
    return out


def in_sample(conversion_id: str, fraction: float) -> bool:
    """A stable draw: the same conversion is in or out of the sample on every read."""
    return zlib.crc32(conversion_id.encode()) / 2**32 < fraction


@dataclass
class Seen:
    """One platform event tied to a fired conversion."""

    journal_id: int
    platform: str
    event_id: str | None
    accepted: bool
    ts: float


@dataclass
class LoadReport:
    """What `postback-sim load` prints and writes (`--json`, `--html`)."""

    fired: int
    ok: int
    lost: list[dict[str, Any]]
    doubled: list[dict[str, Any]]
    unaccounted: list[dict[str, Any]]
    counts: dict[str, int]
    receiver_ms: dict[str, Any]
    journal_latency_ms: dict[str, Any]
    throughput: dict[str, float]
    errors: dict[str, int]
    findings: list[dict[str, Any]]
    sample: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    harness_error: str | None = None

    @property
    def passed(self) -> bool:
        return (self.harness_error is None and self.fired > 0 and not self.counts["lost"]
                and not self.counts["doubled"] and not self.counts["unaccounted"]
                and not any(f["severity"] in FAILING_SEVERITIES for f in self.findings))

    @property
    def exit_code(self) -> int:
        """0 passed, 1 a conversion lost or doubled (or a must finding), 2 nothing to judge."""
        if self.harness_error is not None or self.fired == 0:
            return 2
        return 0 if self.passed else 1

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": "passed" if self.passed else ("error" if self.exit_code == 2
                                                         else "failed"),
                **asdict(self)}


class Tally:
    """Ties journal entries to the ledger's conversions as they are read."""

    def __init__(self, ledger: Ledger, profile: Profile, sample: float = 0.1) -> None:
        self.ledger = ledger
        self.profile = profile
        self.sample = sample
        fired = ledger.fired.values()
        self.by_ad_click = {f.ad_click.get("id"): f.conversion_id for f in fired}
        self.by_click_id = {f.ad_click.get("click_id"): f.conversion_id for f in fired}
        ips = Counter(f.row.get("ip") for f in fired)
        self.by_ip = {f.row.get("ip"): f.conversion_id for f in fired if ips[f.row.get("ip")] == 1}
        self.seen: dict[str, list[Seen]] = defaultdict(list)
        self.unaccounted: list[dict[str, Any]] = []
        self.platform_errors: Counter[str] = Counter()
        self.sampled_entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.last_id: int | None = None
        self.requests = 0

    def owner(self, event: dict[str, Any]) -> str | None:
        """The fired conversion an event stands for: by the ad click the platform attributed
        it to, its click ID, its dedup key, else its visitor IP."""
        attribution = event.get("attribution") or {}
        if attribution.get("ad_click_id") in self.by_ad_click:
            return self.by_ad_click[attribution["ad_click_id"]]
        click = event.get("click_id") or {}
        value = str(click.get("value") or "")
        if click.get("kind") == "fbclid":
            value = fbclid_of(value)
        if value in self.by_click_id:
            return self.by_click_id[value]
        if str(event.get("event_id")) in self.ledger.fired:
            return str(event["event_id"])
        return self.by_ip.get((event.get("user") or {}).get("ip"))

    def add(self, entry: dict[str, Any]) -> None:
        """Read one journal entry (entries arrive oldest first, each once)."""
        self.last_id = entry["id"]
        if entry.get("api") == PIXEL_API:
            return
        self.requests += 1
        platform = entry.get("platform", "?")
        if not entry.get("accepted"):
            fault = entry.get("fault")
            what = f"{platform} answered HTTP {entry.get('status')}"
            self.platform_errors[f"{what} (injected fault)" if fault else what] += 1
        rejected = rejected_rows(entry)
        for codes in rejected.values():
            self.platform_errors[f"{platform} rejected a row: {', '.join(codes)}"] += 1
        owners = set()
        for event in entry.get("events") or []:
            owner = self.owner(event)
            if owner is None:
                self.unaccounted.append({"journal_id": entry["id"], "platform": platform,
                                         "event_index": event.get("index"),
                                         "event_id": event.get("event_id")})
                continue
            owners.add(owner)
            accepted = bool(entry.get("accepted")) and event.get("index") not in rejected
            self.seen[owner].append(Seen(entry["id"], platform, event.get("event_id"), accepted,
                                         float(entry.get("ts") or 0.0)))
        for owner in owners:
            if in_sample(owner, self.sample):
                self.sampled_entries[owner].append(entry)

    def complete(self) -> bool:
        """True once every fired conversion has an accepted event."""
        return all(any(s.accepted for s in self.seen.get(c, ())) for c in self.ledger.fired)

    def report(self, duration_s: float, notes: list[str] | None = None) -> LoadReport:
        lost, doubled, ok = [], [], 0
        latencies = []
        for conversion_id, fired in self.ledger.fired.items():
            seen = self.seen.get(conversion_id, [])
            accepted = [s for s in seen if s.accepted]
            if accepted:  # until the platform took it: retries after a fault count
                latencies.append((min(s.ts for s in accepted) - fired.fired_at) * 1000)
            keys = {(s.platform, s.event_id) for s in accepted}
            if not accepted:
                lost.append({"conversion_id": conversion_id, "platform": fired.platform,
                             "receiver": fired.answer(),
                             "requests": [s.journal_id for s in seen]})
            elif len(accepted) > 1 and (len(keys) > 1 or None in {k[1] for k in keys}):
                doubled.append({"conversion_id": conversion_id, "platform": fired.platform,
                                "events": [{"journal_id": s.journal_id, "platform": s.platform,
                                            "event_id": s.event_id} for s in accepted]})
            else:
                ok += 1
        attempts = [a for f in self.ledger.fired.values() for a in f.attempts]
        errors = Counter(self.ledger.errors)
        for attempt in attempts:
            if attempt.status is None or not 200 <= attempt.status < 400:
                errors[f"postback: {attempt.error or f'HTTP {attempt.status}'}"] += 1
        errors.update(self.platform_errors)
        fired_n = len(self.ledger.fired)
        span = max(duration_s, 1e-9)
        findings, sampled = self.findings()
        return LoadReport(
            fired=fired_n, ok=ok, lost=lost[:LISTED], doubled=doubled[:LISTED],
            unaccounted=self.unaccounted[:LISTED],
            counts={"lost": len(lost), "doubled": len(doubled),
                    "unaccounted": len(self.unaccounted),
                    "postback_attempts": len(attempts),
                    "platform_requests": self.requests},
            receiver_ms=percentiles(a.ms for a in attempts),
            journal_latency_ms=percentiles(latencies),
            throughput={"duration_s": round(duration_s, 1),
                        "conversions_per_s": round(fired_n / span, 1),
                        "accepted_events_per_s": round(
                            sum(1 for s in self.seen.values() for e in s if e.accepted) / span,
                            1)},
            errors=dict(errors.most_common()), findings=findings,
            sample={"fraction": self.sample, "conversions": sampled},
            notes=list(notes or []))

    def findings(self) -> tuple[list[dict[str, Any]], int]:
        """The rules' findings over the sampled conversions, one row per rule and platform."""
        from conformance.rules import run_rules

        rows: dict[tuple[str, str], dict[str, Any]] = {}
        sampled = 0
        for conversion_id, entries in self.sampled_entries.items():
            fired = self.ledger.fired[conversion_id]
            sampled += 1
            for finding in run_rules(self._context(fired, entries), platforms=[fired.platform]):
                row = rows.setdefault((finding.rule, finding.platform), {
                    "rule": finding.rule, "severity": finding.severity,
                    "platform": finding.platform, "message": finding.message,
                    "doc_url": finding.doc_url, "count": 0, "conversions": []})
                row["count"] += 1
                if len(row["conversions"]) < 5 and conversion_id not in row["conversions"]:
                    row["conversions"].append(conversion_id)
        order = sorted(rows.values(), key=lambda r: (r["severity"] not in FAILING_SEVERITIES,
                                                     r["rule"]))
        return order, sampled

    def _context(self, fired: Fired, entries: list[dict[str, Any]]) -> ScenarioContext:
        conversion = fired.conversion_row()
        return ScenarioContext(
            scenario_id=f"load:{fired.conversion_id}", profile=self.profile,
            ad_clicks=[fired.ad_click], clicks=[conversion["click"]], conversions=[conversion],
            journal=entries, started_at=fired.fired_at - 1.0,
            finished_at=max(float(e.get("ts") or 0.0) for e in entries) + 1.0)
