"""Clicks with explicit or generated values, conversions and post-conversion events."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.clock import ManualClock

RECEIVER = ("https://receiver.example/postback"
            "?click_id={sub1}&payout={payout_amount}&txn={conversion_id}")

NOW = "2026-11-01T12:00:00Z"


@pytest.fixture
def clocked() -> Iterator[FlaskClient]:
    """A client on an app whose clock stands still at 2026-11-01 12:00 UTC."""
    app = create_app(testing_config(start_workers=False), clock=ManualClock())
    yield app.test_client()
    shutdown(app)


def test_click_gets_realistic_defaults_from_faker(api):
    click = api("POST", "/api/clicks", 201)
    assert len(click["unique_click_id"]) == 32
    ipaddress.ip_address(click["ip"])
    assert click["user_agent"].startswith("Mozilla/5.0")
    assert len(click["country"]) == 2
    assert click["offer_id"] == 1


def test_generated_clicks_include_ipv4_and_ipv6_addresses(api):
    versions = {ipaddress.ip_address(api("POST", "/api/clicks", 201)["ip"]).version
                for _ in range(40)}
    assert versions == {4, 6}


@pytest.mark.parametrize(
    ("when", "created_at"),
    [
        ({"days_ago": 31}, "2026-10-01T12:00:00Z"),
        ({"ago_seconds": 90}, "2026-11-01T11:58:30Z"),
        ({"at": "2026-09-15T08:30:00+02:00"}, "2026-09-15T06:30:00Z"),
        ({}, NOW),
    ],
    ids=["days-ago", "ago-seconds", "iso-with-offset", "now"],
)
def test_click_can_be_placed_in_the_past(clocked, when, created_at):
    resp = clocked.post("/api/clicks", json={"sub1": "x", **when})
    assert resp.status_code == 201
    assert resp.json["created_at"] == created_at


def test_click_with_two_times_is_refused(clocked):
    resp = clocked.post("/api/clicks", json={"days_ago": 1, "ago_seconds": 5})
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "conflicting_fields"


def test_click_with_explicit_values_keeps_them(api):
    click = api("POST", "/api/clicks", 201, json={
        "sub1": "IwAR2F4-dbP0l7Mn1Iaw", "ip": "2001:db8::1", "user_agent": "UA/1",
        "country": "GB"})
    again = api("GET", f"/api/clicks/{click['unique_click_id']}")
    assert again == api("GET", f"/api/clicks/{click['id']}") == click
    assert (click["ip"], click["user_agent"], click["country"]) == ("2001:db8::1", "UA/1", "GB")


def test_clicks_list_newest_first_and_filter_by_sub_value(api):
    first = api("POST", "/api/clicks", 201, json={"sub2": "needle", "days_ago": 2})
    api("POST", "/api/clicks", 201, json={"sub1": "other"})
    second = api("POST", "/api/clicks", 201, json={"sub4": "needle"})
    page = api("GET", "/api/clicks?sub=needle")
    assert [c["id"] for c in page["clicks"]] == [second["id"], first["id"]]
    assert page["total"] == 2
    assert api("GET", "/api/clicks?limit=1&offset=1")["clicks"][0]["sub1"] == "other"


def test_conversion_defaults_to_the_offer_payout_and_the_click_visitor(api, click):
    conv = api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})
    assert (conv["payout"], conv["currency"], conv["status"]) == (12.5, "USD", "approved")
    assert (conv["ip"], conv["user_agent"]) == (click["ip"], click["user_agent"])
    assert len(conv["conversion_id"]) == 32
    assert conv["unique_click_id"] == click["unique_click_id"]


def test_post_conversion_event_fires_its_own_postback_with_its_own_payout(api, click):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    conv = api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})
    event = api("POST", "/api/conversions", 201, json={
        "kind": "event", "event_name": "upsell", "conversion": conv["conversion_id"],
        "payout": 4.75})
    assert event["parent_id"] == conv["id"]
    assert event["conversion_id"] != conv["conversion_id"]
    url = api("GET", f"/api/deliveries/{event['delivery_ids'][0]}")["url"]
    assert url == ("https://receiver.example/postback?click_id=abc&payout=4.75"
                   f"&txn={event['conversion_id']}")


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_conversions_that_are_not_approved_fire_nothing(api, click, status):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    conv = api("POST", "/api/conversions", 201, json={"click": click["id"], "status": status})
    assert conv["delivery_ids"] == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "click"),
        ({"click": "nope"}, 404, "click"),
        ({"click": 10**30}, 400, "click"),
        ({"kind": "event", "click": 1}, 422, "event_name"),
        ({"kind": "conversion", "click": 1, "conversion": 1}, 422, "conversion"),
        ({"click": 1, "currency": "usd"}, 400, "currency"),
        ({"click": 1, "payout": -0.01}, 400, "payout"),
        ({"click": 1, "ip": "999.1.1.1"}, 400, "ip"),
        ({"click": 1, "status": "paid"}, 400, "status"),
        ({"click": 1, "at": "yesterday"}, 400, "at"),
    ],
    ids=["no-click", "unknown-click", "huge-click-id", "event-without-name",
         "conversion-with-parent", "lower-case-currency", "negative-payout", "bad-ip",
         "unknown-status", "unparseable-time"],
)
def test_bad_conversion_names_the_field(api, click, body, status, field):
    assert api("POST", "/api/conversions", status, json=body)["error"]["field"] == field


def test_conversion_before_its_click_is_refused(clocked):
    click = clocked.post("/api/clicks", json={"days_ago": 1}).json
    resp = clocked.post("/api/conversions", json={"click": click["id"], "days_ago": 2})
    assert resp.status_code == 422
    assert resp.json["error"]["field"] == "at"


def test_conversion_on_a_31_day_old_click_is_stamped_now(clocked):
    click = clocked.post("/api/clicks", json={"days_ago": 31, "sub1": "old"}).json
    conv = clocked.post("/api/conversions", json={"click": click["unique_click_id"]}).json
    assert (click["created_at"], conv["created_at"]) == ("2026-10-01T12:00:00Z", NOW)


def test_conversions_list_filters_by_click_and_kind(api, click):
    conv = api("POST", "/api/conversions", 201, json={"click": click["id"]})
    api("POST", "/api/conversions", 201, json={"kind": "event", "event_name": "renewal",
                                                "conversion": conv["id"]})
    api("POST", "/api/conversions", 201, json={"click": api("POST", "/api/clicks", 201)["id"]})
    page = api("GET", f"/api/conversions?click={click['unique_click_id']}&kind=event")
    assert [c["event_name"] for c in page["conversions"]] == ["renewal"]
    assert api("GET", f"/api/conversions/{conv['conversion_id']}")["id"] == conv["id"]


def test_naming_a_parent_conversion_makes_an_event(api, click):
    conv = api("POST", "/api/conversions", 201, json={"click": click["id"]})
    event = api("POST", "/api/conversions", 201,
                json={"conversion": conv["conversion_id"], "event_name": "renewal"})
    assert (event["kind"], event["payout"], event["unique_click_id"]) == (
        "event", 0, click["unique_click_id"])


def test_event_on_an_event_is_refused(api, click):
    conv = api("POST", "/api/conversions", 201, json={"click": click["id"]})
    event = api("POST", "/api/conversions", 201, json={"conversion": conv["id"],
                                                       "event_name": "upsell"})
    error = api("POST", "/api/conversions", 422, json={"conversion": event["id"],
                                                       "event_name": "again"})["error"]
    assert error["field"] == "conversion"


def test_approving_a_pending_conversion_fires_its_postbacks_once(api, click):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    conv = api("POST", "/api/conversions", 201, json={"click": click["id"], "status": "pending"})
    approved = api("PATCH", f"/api/conversions/{conv['conversion_id']}",
                   json={"status": "approved"})
    assert approved["status"] == "approved"
    assert len(approved["delivery_ids"]) == 1
    again = api("PATCH", f"/api/conversions/{conv['id']}", json={"status": "approved"})
    assert again["delivery_ids"] == approved["delivery_ids"]
