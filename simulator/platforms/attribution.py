"""Attribution: which issued ad click a forwarded click ID stands for, or why none.

Platforms match click IDs byte for byte (the seed: "exact, full-string, case-sensitive match");
a near match is reported as `modified` so the journal can say what the receiver broke.
"""

from __future__ import annotations

from typing import Any

from simulator.store import Store

DAY = 86400.0


def attribute(
    store: Store,
    kind: str,
    value: str | None,
    *,
    event_ts: float | None,
    window_days: float | None,
) -> dict[str, Any]:
    """Outcome: matched | expired | precedes | modified | unknown | absent, with the reason."""
    if not value:
        return {"status": "absent", "ad_click_id": None, "issued_click_id": None,
                "detail": f"no {kind} was sent"}
    exact = store.query_one(
        "SELECT * FROM ad_clicks WHERE kind = ? AND click_id = ?", (kind, value)
    )
    if exact:
        outcome = {"ad_click_id": exact["id"], "issued_click_id": exact["click_id"]}
        if event_ts is not None and event_ts < exact["ts"]:
            return {**outcome, "status": "precedes",
                    "detail": f"the conversion time is before the {kind} click"}
        age_days = ((event_ts if event_ts is not None else exact["ts"]) - exact["ts"]) / DAY
        if window_days is not None and age_days > window_days:
            return {**outcome, "status": "expired",
                    "detail": f"{kind} is {age_days:.1f} days old; the window is "
                              f"{window_days:g} days"}
        return {**outcome, "status": "matched", "detail": f"{kind} issued by the simulator"}
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
