"""Tracking links: an offer plus Sub IDs, as the partner builds them on Links & Promotion."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from simulator.clock import Clock, iso
from simulator.macros import SUB_IDS
from simulator.network.offers import get_offer
from simulator.network.records import require
from simulator.store import Row, Store


def link_url(base_url: str, offer_id: int, subs: dict[str, str]) -> str:
    """`{base}/click?offer_id=N&sub1=...`: Sub IDs appear as they are set, empty ones omitted."""
    params = [("offer_id", str(offer_id))]
    params += [(name, subs[name]) for name in SUB_IDS if subs.get(name)]
    return f"{base_url.rstrip('/')}/click?{urlencode(params, quote_via=quote)}"


def present(row: Row, base_url: str) -> dict[str, Any]:
    subs = {name: row[name] for name in SUB_IDS}
    return {**row, "url": link_url(base_url, row["offer_id"], subs)}


def create_link(
    store: Store, clock: Clock, base_url: str, offer_id: int, subs: dict[str, str]
) -> dict[str, Any]:
    """Store a link for an offer with its Sub IDs and return it with its URL."""
    get_offer(store, offer_id, field="offer_id")
    row = {name: subs.get(name) or "" for name in SUB_IDS}
    link_id = store.insert(
        "links", {"offer_id": offer_id, **row, "created_at": iso(clock.now())}
    )
    return present(require(store, "links", link_id, "link"), base_url)


def list_links(store: Store, base_url: str, offer_id: int | None = None) -> list[dict[str, Any]]:
    where = {"offer_id": offer_id} if offer_id is not None else None
    return [present(r, base_url) for r in store.select("links", where)]


def get_link(store: Store, base_url: str, link_id: int) -> dict[str, Any]:
    return present(require(store, "links", link_id, "link"), base_url)


def matching_link(store: Store, offer_id: int, subs: dict[str, str]) -> int | None:
    """The newest stored link with exactly these Sub IDs, so a click can name its link."""
    where = {"offer_id": offer_id, **{name: subs.get(name) or "" for name in SUB_IDS}}
    rows = store.select("links", where, order_by="id DESC", limit=1)
    return rows[0]["id"] if rows else None
