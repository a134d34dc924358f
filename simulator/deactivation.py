"""Postbacks a network disables after repeated failures (its persona's `deactivate_after`).

Everflow disables a partner postback after 10 consecutive failures in 72 hours
(networks.md); the simulator does the same to any postback whose persona says so, so a receiver
that fails (or answers 4xx to postbacks it merely skips) sees its postback go dark. Only the
delivery engine's failure path calls this: successes cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from simulator import personas
from simulator.clock import iso
from simulator.store import Store


def after_failures(store: Store, delivery_ids: Iterable[int], now: float) -> list[int]:
    """Disable the postbacks of these failed attempts' deliveries whose persona's last N attempts
    all failed (within its window); returns the postbacks disabled."""
    ids = sorted(set(delivery_ids))
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = store.query(
        "SELECT DISTINCT p.id, p.network FROM deliveries d JOIN postbacks p "
        f"ON p.id = d.postback_id WHERE d.id IN ({marks}) AND p.enabled = 1",
        ids,
    )
    disabled = []
    for row in rows:
        try:
            persona = personas.get(row["network"])
        except personas.PersonaError:
            continue
        limit = persona.deactivate_failures
        if not limit:
            continue
        since = ""
        if persona.deactivate_window_hours:
            start = datetime.fromtimestamp(now, UTC) - timedelta(
                hours=persona.deactivate_window_hours)
            since = iso(start)
        recent = store.query(
            "SELECT a.outcome FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.postback_id = ? AND a.started_at >= ? ORDER BY a.id DESC LIMIT ?",
            (row["id"], since, limit),
        )
        if len(recent) < limit or any(r["outcome"] == "success" for r in recent):
            continue
        window = (f" in {persona.deactivate_window_hours:g} h"
                  if persona.deactivate_window_hours else "")
        reason = (f"{persona.title} disabled this postback after {limit} consecutive failed "
                  f"attempts{window}; fix the endpoint, send a test, then enable it again")
        store.execute(
            "UPDATE postbacks SET enabled = 0, disabled_reason = ?, disabled_at = ? "
            "WHERE id = ? AND enabled = 1",
            (reason, iso(datetime.fromtimestamp(now, UTC)), row["id"]),
        )
        disabled.append(row["id"])
    return disabled
