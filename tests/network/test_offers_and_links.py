"""Offers and tracking links through the JSON API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

NEW_OFFER = {"name": "Spring sale", "landing_url": "https://shop.test/spring?utm=x",
             "payout": 7.25, "currency": "EUR"}


def test_fresh_simulator_lists_demo_offer_one(api):
    offers = api("GET", "/api/offers")["offers"]
    assert [o["id"] for o in offers] == [1]


def test_created_offer_can_be_read_back(api):
    created = api("POST", "/api/offers", 201, json=NEW_OFFER)
    assert api("GET", f"/api/offers/{created['id']}") == created
    assert created["payout"] == 7.25
    assert created["currency"] == "EUR"


def test_offer_update_changes_only_the_given_fields(api):
    updated = api("PATCH", "/api/offers/1", json={"payout": 30})
    assert updated["payout"] == 30
    assert updated["currency"] == "USD"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "usd"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"payout": -1}, "payout"),
        ({"payout": "10"}, "payout"),
        ({"landing_url": "ftp://shop.test/"}, "landing_url"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
    ],
    ids=["lower-case-currency", "four-letter-currency", "negative-payout", "payout-as-string",
         "ftp-landing-url", "empty-name", "unknown-field"],
)
def test_bad_offer_is_refused_naming_the_field(api, change, field):
    body = api("POST", "/api/offers", 400, json={**NEW_OFFER, **change})
    assert body["error"]["field"] == field
    assert field in body["error"]["message"]


def test_offer_without_a_required_field_names_it(api):
    body = api("POST", "/api/offers", 400, json={"name": "x", "payout": 1, "currency": "USD"})
    assert body["error"] == {"code": "missing_field", "message": "landing_url: required",
                             "field": "landing_url"}


def test_link_shows_sub_ids_as_they_are_set_and_omits_empty_ones(api):
    link = api("POST", "/api/links", 201, json={"offer_id": 1, "sub1": "fb click&id=1",
                                                "sub2": "", "sub3": "summerlaunch"})
    parts = urlsplit(link["url"])
    assert parts.path == "/click"
    assert parts.query.startswith("offer_id=1&sub1=")
    assert parse_qs(parts.query) == {"offer_id": ["1"], "sub1": ["fb click&id=1"],
                                     "sub3": ["summerlaunch"]}
    assert api("GET", f"/api/links/{link['id']}") == link


def test_link_for_an_unknown_offer_is_a_404_naming_offer_id(api):
    body = api("POST", "/api/links", 404, json={"offer_id": 99})
    assert body["error"]["field"] == "offer_id"


def test_links_can_be_listed_per_offer(api):
    offer = api("POST", "/api/offers", 201, json=NEW_OFFER)
    api("POST", "/api/links", 201, json={"offer_id": offer["id"], "sub1": "a"})
    api("POST", "/api/links", 201, json={"sub1": "b"})
    listed = api("GET", f"/api/links?offer_id={offer['id']}")["links"]
    assert [link["sub1"] for link in listed] == ["a"]
