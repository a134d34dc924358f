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
from simulator.store import Row, Store

if TYPE_CHECKING:
    from conformance.context import ScenarioContext

# How much recent history an entry is judged against; the inspector is for live debugging.
HISTORY = 500


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
    from simulator.platforms.journal import entry as journal_entry

    first = min(e["id"] for e in entries)
    rows = store.query("SELECT * FROM journal WHERE id < ? ORDER BY id DESC LIMIT ?",
                       (first, HISTORY))
    return [journal_entry(r) for r in reversed(rows)]


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
