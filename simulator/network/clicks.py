"""Clicks on tracking links: who clicked (IP, user agent, country), when, with which Sub IDs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faker import Faker

from simulator.clock import Clock, iso
from simulator.macros import SUB_IDS
from simulator.network import visitors
from simulator.network.links import matching_link
from simulator.network.offers import get_offer
from simulator.network.records import by_reference
from simulator.store import Row, Store


def new_click_id() -> str:
    """32 lower-case hex characters, the shape of Everflow-style transaction IDs."""
    return uuid.uuid4().hex


@dataclass
class ClickInput:
    """What is known about a click; anything left None gets a realistic default."""

    offer_id: int = 1
    subs: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = None
    at: datetime | None = None
    link_id: int | None = None
    is_test: bool = False


def present(row: Row) -> dict[str, Any]:
    return {**row, "is_test": bool(row["is_test"])}


def record_click(store: Store, clock: Clock, faker: Faker, click: ClickInput) -> dict[str, Any]:
    """Store a click, filling what the caller left out from Faker."""
    get_offer(store, click.offer_id, field="offer_id")
    when = click.at or clock.now()
    subs = {name: click.subs.get(name) or "" for name in SUB_IDS}
    link_id = click.link_id or matching_link(store, click.offer_id, subs)
    click_id = store.insert(
        "clicks",
        {
            "unique_click_id": new_click_id(),
            "offer_id": click.offer_id,
            "link_id": link_id,
            **subs,
            "ip": click.ip or visitors.ip_address(faker),
            "user_agent": click.user_agent or visitors.user_agent(faker),
            "country": click.country or visitors.country(faker),
            "is_test": click.is_test,
            "created_at": iso(when),
            "ts": when.timestamp(),
        },
    )
    return present(store.get("clicks", click_id) or {})


def get_click(store: Store, ref: str | int, field: str | None = None) -> Row:
    """A click by `unique_click_id` or numeric id."""
    return by_reference(store, "clicks", "unique_click_id", ref, "click", field)


def list_clicks(
    store: Store, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Clicks newest first, filtered by offer, a Sub ID value (any slot or one slot), test flag."""
    clauses, params = [], []
    if filters.get("offer_id") is not None:
        clauses.append("offer_id = ?")
        params.append(filters["offer_id"])
    if filters.get("sub") is not None:
        clauses.append("(" + " OR ".join(f"{s} = ?" for s in SUB_IDS) + ")")
        params += [filters["sub"]] * len(SUB_IDS)
    for name in SUB_IDS:
        if filters.get(name) is not None:
            clauses.append(f"{name} = ?")
            params.append(filters[name])
    if filters.get("is_test") is not None:
        clauses.append("is_test = ?")
        params.append(int(filters["is_test"]))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    total = store.query_one(f"SELECT COUNT(*) AS n FROM clicks{where}", params) or {"n": 0}
    rows = store.query(
        f"SELECT * FROM clicks{where} ORDER BY ts DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [present(r) for r in rows], int(total["n"])
