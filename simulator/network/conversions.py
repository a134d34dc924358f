"""Conversions and post-conversion events on a click, and the postbacks they fire.

Status decides firing, per postback's network persona (`lifecycle.fires`). The seed's network
(a design choice matching how Everflow and TUNE treat payable events) fires for `approved` only:
`pending` and `rejected` ones are recorded but fire nothing, since the partner is paid, and told,
only for approved events. Impact and Keitaro also post back pending, rejected and reversed moves,
each carrying the persona's status macro. A conversion moved later (`set_status`: pending ->
approved -> reversed, or rejected) fires then, with its original event time.
Post-conversion events (`kind: event`) have their own `conversion_id`, payout and postback; their
payout defaults to 0 because the offer's payout belongs to the conversion.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from faker import Faker

from simulator.clock import Clock, iso
from simulator.errors import ApiError
from simulator.macros import SUB_IDS
from simulator.network.clicks import ClickInput, get_click, record_click
from simulator.network.firing import fire
from simulator.network.offers import get_offer
from simulator.network.postbacks import applicable, get_postback
from simulator.network.records import by_reference
from simulator.store import Row, Store

# Moves a conversion may make: a reversal takes back an approved (paid) conversion.
ALLOWED_MOVES = {
    "pending": {"approved", "rejected"},
    "approved": {"reversed", "rejected", "pending"},
    "rejected": {"approved", "pending"},
    "reversed": set(),
}
TEST_SUBS = {name: f"test_{name}" for name in SUB_IDS}


class Waker(Protocol):
    def wake(self) -> None: ...


def new_conversion_id() -> str:
    """32 lower-case hex characters; unique per conversion and per event."""
    return uuid.uuid4().hex


@dataclass
class ConversionInput:
    """A conversion (on `click`) or a post-conversion event (on `parent` or `click`)."""

    click: str | int | None = None
    parent: str | int | None = None
    kind: str = "conversion"
    event_name: str | None = None
    payout: float | None = None
    currency: str | None = None
    status: str = "approved"
    ip: str | None = None
    user_agent: str | None = None
    at: datetime | None = None
    is_test: bool = False


def get_conversion(store: Store, ref: str | int, field: str | None = None) -> Row:
    """A conversion or event by `conversion_id` or numeric id."""
    return by_reference(store, "conversions", "conversion_id", ref, "conversion", field)


def present(store: Store, row: Row) -> dict[str, Any]:
    """The row plus its click's public ID, its offer and the deliveries it created."""
    click = store.get("clicks", row["click_id"]) or {}
    deliveries = store.query(
        "SELECT id FROM deliveries WHERE conversion_id = ? ORDER BY id", (row["id"],)
    )
    return {
        **row,
        "is_test": bool(row["is_test"]),
        "unique_click_id": click.get("unique_click_id"),
        "offer_id": click.get("offer_id"),
        "delivery_ids": [d["id"] for d in deliveries],
    }


def _resolve_click(store: Store, data: ConversionInput) -> tuple[Row, Row | None]:
    parent = None
    if data.parent is not None:
        if data.kind != "event":
            raise ApiError(
                "conversion: only post-conversion events (kind: event) name a parent conversion",
                field="conversion",
                status=422,  # each field is valid alone; the schema cannot say they clash
            )
        parent = get_conversion(store, data.parent, field="conversion")
        if parent["kind"] != "conversion":
            raise ApiError(
                f"conversion: {data.parent} is itself an event; name the conversion it belongs to",
                field="conversion",
                status=422,
            )
    if data.click is not None:
        click = get_click(store, data.click, field="click")
        if parent is not None and parent["click_id"] != click["id"]:
            raise ApiError(
                f"click: conversion {data.parent} belongs to another click",
                field="click",
                status=422,
            )
        return click, parent
    if parent is not None:
        return store.get("clicks", parent["click_id"]) or {}, parent
    # Either `click` or `conversion` names what this is on: the schema allows each alone.
    raise ApiError("click: required (the click's unique_click_id or id)", field="click",
                   status=422)


def record_conversion(
    store: Store,
    clock: Clock,
    engine: Waker,
    data: ConversionInput,
    *,
    only_postback: int | None = None,
) -> dict[str, Any]:
    """Store a conversion or event and queue its postbacks if it is approved."""
    if data.kind == "event" and not data.event_name:
        raise ApiError("event_name: required for a post-conversion event", field="event_name",
                       status=422)
    click, parent = _resolve_click(store, data)
    offer = get_offer(store, click["offer_id"])
    when = data.at or clock.now()
    if when.timestamp() < click["ts"]:
        raise ApiError(
            f"at: the conversion ({iso(when)}) cannot happen before its click "
            f"({click['created_at']})",
            field="at",
            status=422,
        )
    default_payout = offer["payout"] if data.kind == "conversion" else 0.0
    row = {
        "conversion_id": new_conversion_id(),
        "click_id": click["id"],
        "parent_id": parent["id"] if parent else None,
        "kind": data.kind,
        "event_name": data.event_name or "conversion",
        "payout": default_payout if data.payout is None else data.payout,
        "currency": data.currency or (parent or offer)["currency"],
        "status": data.status,
        "ip": data.ip or click["ip"],
        "user_agent": data.user_agent or click["user_agent"],
        "is_test": data.is_test,
        "created_at": iso(when),
        "ts": when.timestamp(),
    }
    with store.transaction():
        row["id"] = store.insert("conversions", row)
        fire(store, clock, row, click, offer, only_postback=only_postback,
             include_disabled=data.is_test and only_postback is not None)
    engine.wake()
    return present(store, store.get("conversions", row["id"]) or row)


def set_status(store: Store, clock: Clock, engine: Waker, ref: str, status: str) -> dict[str, Any]:
    """Move a conversion's status; each move fires the postbacks whose persona sends it."""
    row = get_conversion(store, ref)
    if status == row["status"]:
        return present(store, row)
    if status not in ALLOWED_MOVES.get(row["status"], set()):
        raise ApiError(
            f"status: a {row['status']} conversion cannot become {status}"
            + (" (only an approved one is reversed)" if status == "reversed" else ""),
            code="invalid_transition", field="status", status=409,
        )
    with store.transaction():
        store.update("conversions", row["id"], {"status": status})
        click = store.get("clicks", row["click_id"]) or {}
        offer = get_offer(store, click["offer_id"])
        fire(store, clock, {**row, "status": status}, click, offer)
    engine.wake()
    return present(store, store.get("conversions", row["id"]) or row)


def fire_test_conversion(
    store: Store,
    clock: Clock,
    faker: Faker,
    engine: Waker,
    *,
    offer_id: int | None = None,
    postback_id: int | None = None,
    subs: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The dashboard's "test conversion": a sample click and conversion that fire for real."""
    if postback_id is not None:
        postback = get_postback(store, postback_id, field="postback_id")
        if offer_id is None:
            offer_id = postback["offer_id"] or 1
    offer_id = 1 if offer_id is None else offer_id
    get_offer(store, offer_id, field="offer_id")
    if not applicable(store, offer_id, postback_id, include_disabled=postback_id is not None):
        which = f"postback {postback_id} is disabled or does not apply to" if postback_id else (
            "no enabled postback applies to"
        )
        raise ApiError(
            f"{which} offer {offer_id}; save an enabled postback first",
            code="no_postback",
            field="postback_id" if postback_id else "offer_id",
            status=409,
        )
    click = record_click(
        store, clock, faker,
        ClickInput(offer_id=offer_id, subs={**TEST_SUBS, **(subs or {})}, is_test=True),
    )
    return record_conversion(
        store, clock, engine,
        ConversionInput(click=click["id"], is_test=True),
        only_postback=postback_id,
    )


def list_conversions(
    store: Store, filters: dict[str, Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Conversions and events newest first, filtered by click, offer, kind, status, test flag."""
    clauses, params = [], []
    if filters.get("click") is not None:
        clauses.append("v.click_id = ?")
        params.append(get_click(store, filters["click"], field="click")["id"])
    for name in ("kind", "status"):
        if filters.get(name) is not None:
            clauses.append(f"v.{name} = ?")
            params.append(filters[name])
    if filters.get("offer_id") is not None:
        clauses.append("c.offer_id = ?")
        params.append(filters["offer_id"])
    if filters.get("is_test") is not None:
        clauses.append("v.is_test = ?")
        params.append(int(filters["is_test"]))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    base = f"FROM conversions v JOIN clicks c ON c.id = v.click_id{where}"
    total = store.query_one(f"SELECT COUNT(*) AS n {base}", params) or {"n": 0}
    rows = store.query(
        f"SELECT v.* {base} ORDER BY v.ts DESC, v.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [present(store, r) for r in rows], int(total["n"])
