"""The platform inspector's view of one journal entry: the rules' verdict on it, the fields
to highlight, and the postback deliveries that caused it.

The rules are the conformance suite's own (ARCHITECTURE.md allows the dashboard to import it);
each entry is judged alone, in a `ScenarioContext` holding the simulator's recent ad clicks,
clicks and conversions, so attribution-dependent rules see what a scenario run would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from conformance.context import fbclid_of
from conformance.reporters.html import normalise_path
from simulator.macros import SUB_IDS
from simulator.platforms.journal import entry as journal_entry
from simulator.store import Row, Store

if TYPE_CHECKING:
    from conformance.context import ScenarioContext

# How much recent history an entry is judged against; the inspector is for live debugging.
HISTORY = 500
# Earlier requests the rules see across requests (dedup, distinct IDs), and the most of each
# one read for them: a large journal must not make one poll read it whole (issue 10).
EARLIER = 200
# A listed entry: its body is judged whole up to JUDGED_BODY characters, shown up to
# PREVIEW_BODY; events lists longer than EVENTS_CHARS of JSON are left out. `entry_in_full`
# reads one entry whole on demand.
JUDGED_BODY = 65536
PREVIEW_BODY = 4096
EVENTS_CHARS = 262144
EARLIER_BODY = 4096
EARLIER_EVENTS = 65536
PAGE_LIMIT = 50


def _bounded_columns(body_chars: int, events_chars: int) -> str:
    """The journal's columns with a large body cut and large events left out (SQL, bound)."""
    return (
        "id, platform, api, method, path, query, headers, status, response, accepted, fault, "
        "findings, received_at, ts, length(body) AS body_chars, "
        f"CASE WHEN length(body) <= {int(body_chars)} THEN body "
        f"ELSE substr(body, 1, {int(body_chars)}) END AS body, "
        f"CASE WHEN length(events) <= {int(events_chars)} THEN events END AS events"
    )


def _history(store: Store) -> tuple[list[Row], list[Row], list[Row]]:
    ad_clicks = store.query("SELECT * FROM ad_clicks ORDER BY id DESC LIMIT ?", (HISTORY,))
    by_value = {a["click_id"]: a for a in ad_clicks}
    clicks = store.query("SELECT * FROM clicks ORDER BY id DESC LIMIT ?", (HISTORY,))
    for click in clicks:
        click["ad_click"] = next(
            (by_value[click[s]] for s in SUB_IDS if click.get(s) in by_value), None
        )
    click_by_id = {c["id"]: c for c in clicks}
    conversions = store.query("SELECT * FROM conversions ORDER BY id DESC LIMIT ?", (HISTORY,))
    for conversion in conversions:
        conversion["click"] = click_by_id.get(conversion["click_id"]) or store.get(
            "clicks", conversion["click_id"]
        )
    return ad_clicks, clicks, conversions


def context_for(store: Store, entries: list[Row]) -> ScenarioContext:
    """A context in which the rules judge these entries against the recent network history."""
    from conformance.context import ScenarioContext

    ad_clicks, clicks, conversions = _history(store)
    return ScenarioContext(
        scenario_id="inspector",
        ad_clicks=ad_clicks,
        clicks=clicks,
        conversions=conversions,
        journal=entries,
        started_at=min((e["ts"] for e in entries), default=0.0),
        finished_at=max((e["ts"] for e in entries), default=0.0),
    )


def _needles(entry: Row) -> set[str]:
    """Values in the request that a postback URL would have carried: dedup keys, click IDs."""
    found: set[str] = set()
    for event in entry.get("events") or []:
        if event.get("event_id"):
            found.add(str(event["event_id"]))
        click_id = (event.get("click_id") or {}).get("value")
        if click_id:
            found.add(str(click_id))
            found.add(fbclid_of(str(click_id)))
    return {n for n in found if len(n) >= 6}


def matching_deliveries(store: Store, entry: Row, limit: int = 3) -> list[Row]:
    """The newest deliveries whose URL or body carries one of the entry's IDs."""
    needles = _needles(entry)
    if not needles:
        return []
    rows = store.query(
        "SELECT d.*, v.conversion_id AS conversion_ref FROM deliveries d "
        "JOIN conversions v ON v.id = d.conversion_id ORDER BY d.id DESC LIMIT ?",
        (HISTORY,),
    )
    matched = []
    for row in rows:
        haystack = f"{row['url']} {row.get('body') or ''} {row['conversion_ref']}"
        if any(n in haystack for n in needles):
            matched.append(row)
        if len(matched) == limit:
            break
    for row in matched:
        row["attempt_log"] = store.query(
            "SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number, id", (row["id"],)
        )
    return matched


def _earlier_requests(store: Store, entries: list[Row]) -> list[Row]:
    """Requests before these ones, so rules across requests (a redelivery's event_id, distinct
    conversions' IDs) judge the new entries against what the platforms already received."""
    first = min(e["id"] for e in entries)
    rows = store.query(
        f"SELECT {_bounded_columns(EARLIER_BODY, EARLIER_EVENTS)} FROM journal "
        "WHERE id < ? ORDER BY id DESC LIMIT ?",
        (first, EARLIER),
    )
    return [_summary(journal_entry(r)) for r in reversed(rows)]


def _summary(row: Row) -> Row:
    """A bounded row as an entry: `body_truncated` and `events_omitted` say what was cut."""
    row["body_truncated"] = row["body_chars"] > len(row["body"] or "")
    row["events_omitted"] = row["events"] is None
    if row["events"] is None:
        row["events"] = []
    return row


def page(
    store: Store, *, after_id: int = 0, before_id: int | None = None,
    platform: str | None = None, limit: int = 20,
) -> dict[str, Any]:
    """Up to `limit` entries newest first, after `after_id` (new ones) or before `before_id`
    (older ones), judged, with bodies cut to a preview; `next_before_id` pages further back."""
    limit = max(1, min(limit, PAGE_LIMIT))
    rows = store.query(
        f"SELECT {_bounded_columns(JUDGED_BODY, EVENTS_CHARS)} FROM journal "
        "WHERE id > ? AND (? IS NULL OR id < ?) AND (? IS NULL OR platform = ?) "
        "ORDER BY id DESC LIMIT ?",
        (after_id, before_id, before_id, platform, platform, limit + 1),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    judged = judge(store, [_summary(journal_entry(r)) for r in reversed(rows)])
    for item in judged:
        if len(item["body"] or "") > PREVIEW_BODY:
            item["body"] = item["body"][:PREVIEW_BODY]
            item["body_truncated"] = True
    last = store.query_one("SELECT MAX(id) AS id FROM journal") or {}
    return {
        "items": judged[::-1],
        "last_id": max(after_id, last.get("id") or 0),
        "next_before_id": rows[-1]["id"] if more else None,
    }


def entry_in_full(store: Store, entry_id: int) -> Row | None:
    """One entry whole (body and events), judged like a listed one."""
    row = store.get("journal", entry_id)
    if row is None:
        return None
    row = journal_entry(row)
    row.update(body_chars=len(row["body"] or ""), body_truncated=False, events_omitted=False)
    return judge(store, [row])[0]


def _findings(store: Store, entries: list[Row]) -> tuple[list[dict[str, Any]], str | None]:
    """The rules' findings on these entries, or why the rules could not run (the inspector
    still shows the requests when the conformance package is broken or mid-change)."""
    try:
        from conformance.rules import run_rules

        ctx = context_for(store, [*_earlier_requests(store, entries), *entries])
        found = run_rules(ctx, platforms={e["platform"] for e in entries})
    except Exception as exc:
        return [], f"the conformance rules could not run: {type(exc).__name__}: {exc}"
    return [f.to_dict() for f in found], None


def judge(store: Store, entries: Iterable[Row]) -> list[dict[str, Any]]:
    """Each entry with `verdict` (findings, highlighted fields) and `caused_by` deliveries."""
    entries = list(entries)
    if not entries:
        return []
    findings, problem = _findings(store, entries)
    out = []
    for entry in entries:
        mine = [
            f for f in findings
            if (f.get("evidence") or {}).get("journal_id") == entry["id"]
            or ((f.get("evidence") or {}).get("journal_id") is None and len(entries) == 1)
        ]
        marks = sorted({normalise_path(str(f["evidence"]["field"])) for f in mine
                        if (f.get("evidence") or {}).get("field")})
        out.append({**entry, "rule_findings": mine, "marks": marks, "rules_problem": problem,
                    "caused_by": matching_deliveries(store, entry)})
    return out
