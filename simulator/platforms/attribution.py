"""Attribution: which issued ad click a forwarded click ID stands for, or why none.

Platforms match click IDs byte for byte (the seed: "exact, full-string, case-sensitive match");
a near match is reported as `modified` so the journal can say what the receiver broke.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from simulator.store import Row, Store

DAY = 86400.0
# Stays under SQLite's oldest limit of 999 parameters per statement.
_IDS_PER_QUERY = 500


class IssuedClicks(dict[str, Row]):
    """Issued ad_clicks rows by click ID, plus the near match (or None) of each value among
    them that has no exact one: a request's lookups in two queries instead of up to two per
    event (docs/performance.md, Mock ingest)."""

    def __init__(self, exact: Mapping[str, Row], near: Mapping[str, Row | None]) -> None:
        super().__init__(exact)
        self.near = dict(near)


_NEAR_MATCH = (
    "lower(a.click_id) = lower(v.column1) OR (length(v.column1) >= 20 AND "
    "(instr(a.click_id, v.column1) = 1 OR instr(v.column1, a.click_id) = 1))"
)


def issued_clicks(store: Store, kind: str, values: Iterable[str | None]) -> IssuedClicks:
    """The issued ad_clicks rows among `values`, by click ID, with the near matches of the rest
    (`attribute` reads both instead of querying per event)."""
    ids = sorted({v for v in values if v})
    found: dict[str, Row] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        rows = store.query(
            f"SELECT * FROM ad_clicks WHERE kind = ? AND click_id IN "
            f"({', '.join('?' * len(chunk))})",
            [kind, *chunk],
        )
        found.update((r["click_id"], r) for r in rows)
    missing = [v for v in ids if v not in found]
    near: dict[str, Row | None] = dict.fromkeys(missing)
    for start in range(0, len(missing), _IDS_PER_QUERY):
        chunk = missing[start:start + _IDS_PER_QUERY]
        # Lowest id first: what the per-value query's table scan returned first.
        rows = store.query(
            f"SELECT v.column1 AS near_for, a.* "
            f"FROM (VALUES {', '.join(['(?)'] * len(chunk))}) AS v "
            f"JOIN ad_clicks a ON a.kind = ? AND ({_NEAR_MATCH}) ORDER BY a.id",
            [*chunk, kind],
        )
        for row in rows:
            value = row.pop("near_for")
            if near[value] is None:
                near[value] = row
    return IssuedClicks(found, near)


def issued_by_kind(
    store: Store, clicks: Iterable[tuple[str | None, str | None]]
) -> dict[str, IssuedClicks]:
    """`issued_clicks` for each kind among (kind, value) pairs: one lookup per kind a request
    uses (Google requests may mix gclid, gbraid and wbraid)."""
    values: dict[str, list[str]] = {}
    for kind, value in clicks:
        if kind and value:
            values.setdefault(kind, []).append(value)
    return {kind: issued_clicks(store, kind, found) for kind, found in values.items()}


def attribute(
    store: Store,
    kind: str,
    value: str | None,
    *,
    event_ts: float | None,
    window_days: float | None,
    issued: Mapping[str, Row] | None = None,
) -> dict[str, Any]:
    """Outcome: matched | expired | precedes | modified | unknown | absent, with the reason.

    `issued` (from `issued_clicks`) stands in for the exact-match query when given, and for the
    near-match query too when it is an `IssuedClicks` that looked `value` up.
    """
    if not value:
        return {"status": "absent", "ad_click_id": None, "issued_click_id": None,
                "detail": f"no {kind} was sent"}
    exact = issued.get(value) if issued is not None else store.query_one(
        "SELECT * FROM ad_clicks WHERE kind = ? AND click_id = ?", (kind, value)
    )
    if exact:
        outcome = {"ad_click_id": exact["id"], "issued_click_id": exact["click_id"]}
        # Platforms carry conversion times in whole seconds, so a conversion in the same second
        # as its click (its time truncated) does not precede it.
        if event_ts is not None and event_ts < math.floor(exact["ts"]):
            return {**outcome, "status": "precedes",
                    "detail": f"the conversion time is before the {kind} click"}
        age_days = ((event_ts if event_ts is not None else exact["ts"]) - exact["ts"]) / DAY
        if window_days is not None and age_days > window_days:
            return {**outcome, "status": "expired",
                    "detail": f"{kind} is {age_days:.1f} days old; the window is "
                              f"{window_days:g} days"}
        return {**outcome, "status": "matched", "detail": f"{kind} issued by the simulator"}
    if isinstance(issued, IssuedClicks) and value in issued.near:
        near = issued.near[value]
    else:
        near = store.query_one(
            "SELECT * FROM ad_clicks WHERE kind = ? AND (lower(click_id) = lower(?) "
            "OR (length(?) >= 20 AND (instr(click_id, ?) = 1 OR instr(?, click_id) = 1)))",
            (kind, value, value, value, value),
        )
    if near:
        how = "its case was changed" if near["click_id"].lower() == value.lower() else (
            "it was truncated" if near["click_id"].startswith(value) else "text was appended"
        )
        return {"status": "modified", "ad_click_id": near["id"],
                "issued_click_id": near["click_id"],
                "detail": f"{kind} does not match the issued one byte for byte: {how}"}
    return {"status": "unknown", "ad_click_id": None, "issued_click_id": None,
            "detail": f"no such {kind} was issued by the simulator"}
