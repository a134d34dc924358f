"""Offers: what a partner promotes; a fresh simulator has demo offer 1."""

from __future__ import annotations

from simulator.clock import Clock, iso
from simulator.store import Store

DEMO_OFFER = {
    "id": 1,
    "name": "Demo offer: Summer Launch bundle",
    "landing_url": "https://shop.example.com/summer-launch",
    "payout": 12.5,
    "currency": "USD",
}


def ensure_demo_offer(store: Store, clock: Clock) -> None:
    """Create offer 1 when the database has no offers, so `/click?offer_id=1` works at once."""
    if store.count("offers") == 0:
        store.insert("offers", {**DEMO_OFFER, "created_at": iso(clock.now())})
