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


# A near match is an issued ID that differs from the value only in case, or that the value
# truncates or extends (values of 20 characters or more). Each kind is an index lookup
# (ad_clicks_click_lower, the click_id index), so the cost does not grow with the ad_clicks table.
_SAME_BUT_CASE = (
    "SELECT v.column1 AS near_for, a.* FROM (VALUES {marks}) AS v "
    "JOIN ad_clicks a ON lower(a.click_id) = lower(v.column1) AND +a.kind = ?"
)
_EXTENDS_VALUE = (
    "SELECT v.column1 AS near_for, a.* FROM (VALUES {marks}) AS v "
    "JOIN ad_clicks a ON a.click_id > v.column1 AND a.click_id < v.column2 AND +a.kind = ? "
    "AND instr(a.click_id, v.column1) = 1"
)
# Above every character a click ID holds: the end of the range of IDs that start with a value.
_TOP = "\U0010ffff"
_NEAR_MIN = 20


def issued_clicks(store: Store, kind: str, values: Iterable[str | None]) -> IssuedClicks:
    """The issued ad_clicks rows among `values`, by click ID, with the near matches of the rest
    (`attribute` reads both instead of querying per event)."""
    ids = sorted({v for v in values if v})
    found: dict[str, Row] = {}
    for chunk in _chunks(ids, _IDS_PER_QUERY):
        rows = store.query(
            f"SELECT * FROM ad_clicks WHERE click_id IN "
            f"({', '.join('?' * len(chunk))}) AND +kind = ?",
            [*chunk, kind],
        )
        found.update((r["click_id"], r) for r in rows)
    missing = [v for v in ids if v not in found]
    return IssuedClicks(found, _near_matches(store, kind, missing))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _near_matches(store: Store, kind: str, values: list[str]) -> dict[str, Row | None]:
    """Each value's near match with the lowest id (what one scan in id order found first)."""
    candidates: dict[str, list[Row]] = {v: [] for v in values}
    for chunk in _chunks(values, _IDS_PER_QUERY):
        marks = ", ".join(["(?)"] * len(chunk))
        for row in store.query(_SAME_BUT_CASE.format(marks=marks), [*chunk, kind]):
            candidates[row.pop("near_for")].append(row)
    long = [v for v in values if len(v) >= _NEAR_MIN]
    for chunk in _chunks(long, _IDS_PER_QUERY // 2):
        marks = ", ".join(["(?, ?)"] * len(chunk))
        params = [p for v in chunk for p in (v, v + _TOP)]
        for row in store.query(_EXTENDS_VALUE.format(marks=marks), [*params, kind]):
            candidates[row.pop("near_for")].append(row)
    # An issued ID the value extends is one of the value's prefixes.
    prefixes = sorted({v[:n] for v in long for n in range(1, len(v))})
    issued_prefixes: dict[str, Row] = {}
    for chunk in _chunks(prefixes, _IDS_PER_QUERY):
        rows = store.query(
            f"SELECT * FROM ad_clicks WHERE click_id IN "
            f"({', '.join('?' * len(chunk))}) AND +kind = ?", [*chunk, kind])
        issued_prefixes.update((r["click_id"], r) for r in rows)
    if issued_prefixes:
        for v in long:
            candidates[v] += [issued_prefixes[v[:n]] for n in range(1, len(v))
                              if v[:n] in issued_prefixes]
    return {v: min(rows, key=lambda r: r["id"]) if rows else None
            for v, rows in candidates.items()}


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
        near = _near_matches(store, kind, [value])[value]
    if near:
        how = "its case was changed" if near["click_id"].lower() == value.lower() else (
            "it was truncated" if near["click_id"].startswith(value) else "text was appended"
        )
        return {"status": "modified", "ad_click_id": near["id"],
                "issued_click_id": near["click_id"],
                "detail": f"{kind} does not match the issued one byte for byte: {how}"}
    return {"status": "unknown", "ad_click_id": None, "issued_click_id": None,
            "detail": f"no such {kind} was issued by the simulator"}
