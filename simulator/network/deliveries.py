"""Reading postback deliveries with their attempts, and sending them again by hand."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, Protocol

from simulator.clock import Clock, iso
from simulator.errors import ApiError
from simulator.network.records import require
from simulator.store import Row, Store


class Redeliverer(Protocol):
    def wake(self) -> None: ...

    def redeliver(self, delivery_id: int) -> int: ...


# julianday() compares ISO stamps as instants, whatever their fractional digits.
_SELECT = """
SELECT d.*, v.conversion_id AS conversion_ref, v.kind AS conversion_kind, c.offer_id AS offer_id,
       c.unique_click_id AS unique_click_id
FROM deliveries d JOIN conversions v ON v.id = d.conversion_id JOIN clicks c ON c.id = v.click_id
"""


def _present(rows: list[Row], store: Store) -> list[dict[str, Any]]:
    """Rows as the API shows them: the attempt log last, the worker's lease left out."""
    attempts: dict[int, list[Row]] = defaultdict(list)
    if rows:
        marks = ",".join("?" for _ in rows)
        for attempt in store.query(
            f"SELECT * FROM attempts WHERE delivery_id IN ({marks}) ORDER BY number, id",
            [r["id"] for r in rows],
        ):
            attempts[attempt["delivery_id"]].append(attempt)
    hidden = {"attempts", "lease_until"}
    return [
        {**{k: v for k, v in row.items() if k not in hidden},
         "attempt_count": row["attempts"], "attempts": attempts[row["id"]]}
        for row in rows
    ]


def list_deliveries(
    store: Store, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Deliveries newest first, each with its attempts, filtered by status, offer, conversion
    (numeric id or `conversion_id`) and creation time (`since` inclusive, `until` exclusive)."""
    clauses, params = [], []
    if filters.get("status") is not None:
        clauses.append("d.status = ?")
        params.append(filters["status"])
    if filters.get("offer_id") is not None:
        clauses.append("c.offer_id = ?")
        params.append(filters["offer_id"])
    if filters.get("conversion_id") is not None:
        ref = str(filters["conversion_id"])
        clauses.append("(v.conversion_id = ? OR v.id = ?)")
        params += [ref, int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 19 else -1]
    bounds: tuple[tuple[str, str], ...] = (("since", ">="), ("until", "<"))
    for name, op in bounds:
        moment: datetime | None = filters.get(name)
        if moment is not None:
            clauses.append(f"julianday(d.created_at) {op} julianday(?)")
            params.append(iso(moment))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    # Every delivery has its conversion and click (NOT NULL foreign keys), so the count joins
    # only the tables a filter reads: a count over `deliveries` alone is an index scan.
    joins = ""
    if filters.get("offer_id") is not None or filters.get("conversion_id") is not None:
        joins = " JOIN conversions v ON v.id = d.conversion_id"
    if filters.get("offer_id") is not None:
        joins += " JOIN clicks c ON c.id = v.click_id"
    total = store.query_one(f"SELECT COUNT(*) AS n FROM deliveries d{joins}{where}",
                            params) or {"n": 0}
    rows = store.query(f"{_SELECT}{where} ORDER BY d.id DESC LIMIT ? OFFSET ?",
                       [*params, limit, offset])
    return _present(rows, store), int(total["n"])


def get_delivery(store: Store, delivery_id: int) -> dict[str, Any]:
    """One delivery with every attempt, oldest first."""
    require(store, "deliveries", delivery_id, "delivery")
    rows = store.query(f"{_SELECT} WHERE d.id = ?", (delivery_id,))
    return _present(rows, store)[0]


def replay(store: Store, engine: Redeliverer, delivery_id: int) -> dict[str, Any]:
    """Send the same request again as a new delivery (a duplicate, as a partner may cause)."""
    require(store, "deliveries", delivery_id, "delivery")
    return get_delivery(store, engine.redeliver(delivery_id))


def retry(store: Store, clock: Clock, engine: Redeliverer, delivery_id: int) -> dict[str, Any]:
    """Put a failed delivery back in the queue, due now; its attempt log continues."""
    row = require(store, "deliveries", delivery_id, "delivery")
    if row["status"] != "failed":
        raise ApiError(
            f"delivery {delivery_id} is {row['status']}; only a failed delivery can be retried "
            "(replay sends any delivery again)",
            code="conflict",
            field="status",
            status=409,
        )
    now = clock.now()
    store.update(
        "deliveries",
        delivery_id,
        {"status": "pending", "next_attempt_at": now.timestamp(), "lease_until": None,
         "updated_at": iso(now)},
    )
    engine.wake()
    return get_delivery(store, delivery_id)
