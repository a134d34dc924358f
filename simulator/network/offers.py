"""Offers: what a partner promotes; a fresh simulator has demo offer 1."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from werkzeug.urls import iri_to_uri

from simulator import personas
from simulator.clock import Clock, iso
from simulator.errors import ApiError
from simulator.network.records import require
from simulator.store import Row, Store

DEMO_OFFER = {
    "id": 1,
    "name": "Demo offer: Summer Launch bundle",
    "landing_url": "https://shop.example.com/summer-launch",
    "payout": 12.5,
    "currency": "USD",
}

OFFER_FIELDS = ("name", "landing_url", "payout", "currency")


def ensure_demo_offer(store: Store, clock: Clock) -> None:
    """Create offer 1 when the database has no offers, so `/click?offer_id=1` works at once."""
    if store.count("offers") == 0:
        store.insert("offers", {**DEMO_OFFER, "created_at": iso(clock.now())})


def list_offers(store: Store) -> list[Row]:
    return store.select("offers")


def get_offer(store: Store, offer_id: Any, field: str | None = None) -> Row:
    """The offer, or a 404 naming `field` (e.g. `offer_id` in a request body)."""
    return require(store, "offers", offer_id, "offer", field)


def check_landing_url(url: str, status: int = 422) -> str:
    """The tracking link redirects here, so it must parse, name a host and have an ASCII form
    for the Location header (an IDNA-encodable host); returns that form. A refusal is a 422:
    the value is valid for the schema, the network refuses it."""
    try:
        host = urlsplit(url).hostname
    except ValueError as exc:
        raise ApiError(f"landing_url: does not parse: {exc}", field="landing_url",
                       status=status) from None
    if not host:
        raise ApiError("landing_url: has no host name", field="landing_url", status=status)
    try:
        return iri_to_uri(url)
    except (ValueError, UnicodeError) as exc:
        # UnicodeError: a host such as `a\u0080b.example` has no IDNA form.
        raise ApiError(f"landing_url: cannot be redirected to: {exc}", field="landing_url",
                       status=status) from None


def create_offer(store: Store, clock: Clock, values: dict[str, Any]) -> Row:
    """Store a new offer from validated values (name, landing_url, payout, currency, and
    optionally the network persona of its postbacks)."""
    check_landing_url(values["landing_url"])
    row = {name: values[name] for name in OFFER_FIELDS}
    row["network"] = persona_of(values["network"]).name if values.get("network") else None
    offer_id = store.insert("offers", {**row, "created_at": iso(clock.now())})
    return get_offer(store, offer_id)


def update_offer(store: Store, offer_id: int, values: dict[str, Any]) -> Row:
    """Change some of an offer's fields; clicks and conversions already made keep theirs."""
    get_offer(store, offer_id)
    if "landing_url" in values:
        check_landing_url(values["landing_url"])
    changes = {name: values[name] for name in OFFER_FIELDS if name in values}
    if "network" in values:
        changes["network"] = persona_of(values["network"]).name if values["network"] else None
    if changes:
        store.update("offers", offer_id, changes)
    return get_offer(store, offer_id)


def persona_of(name: str | None, field: str = "network") -> personas.Persona:
    """The named persona (the default for None), or a 422 naming the known networks."""
    try:
        return personas.get(name)
    except personas.PersonaError as exc:
        raise ApiError(f"{field}: {exc}", code="unknown_network", field=field,
                       status=422) from None
