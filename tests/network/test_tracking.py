"""The tracking link endpoint, `GET /click`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest


def _redirect_params(resp):
    assert resp.status_code == 302
    return parse_qs(urlsplit(resp.headers["Location"]).query)


def test_click_redirects_to_landing_url_with_the_click_id(client, services):
    resp = client.get("/click?offer_id=1&sub1=abc&sub3=summer")
    location = urlsplit(resp.headers["Location"])
    assert resp.status_code == 302
    assert location.netloc == "shop.example.com"
    click_id = parse_qs(location.query)["transaction_id"][0]
    row = services.store.find("clicks", unique_click_id=click_id)
    assert (row["sub1"], row["sub2"], row["sub3"]) == ("abc", "", "summer")
    assert len(click_id) == 32


def test_click_id_is_merged_into_an_existing_landing_query(api, client):
    offer = api("POST", "/api/offers", 201, json={
        "name": "q", "landing_url": "https://shop.test/p?utm_source=aff&x=1",
        "payout": 1, "currency": "USD"})
    params = _redirect_params(client.get(f"/click?offer_id={offer['id']}"))
    assert params["utm_source"] == ["aff"]
    assert params["x"] == ["1"]
    assert len(params["transaction_id"]) == 1


def test_click_takes_ip_user_agent_and_country_from_the_request(client, services):
    resp = client.get(
        "/click?offer_id=1",
        headers={"X-Forwarded-For": "2001:db8::7, 10.0.0.1", "User-Agent": "Mozilla/5.0 test",
                 "CF-IPCountry": "de"},
    )
    row = services.store.find("clicks", unique_click_id=_redirect_params(resp)["transaction_id"][0])
    assert (row["ip"], row["user_agent"], row["country"]) == ("2001:db8::7", "Mozilla/5.0 test",
                                                              "DE")


def test_click_parameters_override_the_request_and_country_defaults_from_config(client,
                                                                                 services):
    resp = client.get("/click?offer_id=1&ip=203.0.113.9&ua=Bot%2F1.0",
                      headers={"User-Agent": "ignored"})
    row = services.store.find("clicks", unique_click_id=_redirect_params(resp)["transaction_id"][0])
    assert (row["ip"], row["user_agent"]) == ("203.0.113.9", "Bot/1.0")
    assert row["country"] == services.config.default_country


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("", 400, "offer_id"),
        ("offer_id=abc", 400, "offer_id"),
        ("offer_id=999", 404, "offer_id"),
        ("offer_id=99999999999999999999999", 400, "offer_id"),
        ("offer_id=1&ip=not-an-ip", 400, "ip"),
        ("offer_id=1&sub1=" + "x" * 1001, 400, "sub1"),
    ],
    ids=["missing-offer", "non-numeric-offer", "unknown-offer", "huge-offer-id", "bad-ip",
         "oversized-sub"],
)
def test_bad_click_answers_json_error_not_a_redirect(client, query, status, field):
    resp = client.get(f"/click?{query}")
    assert resp.status_code == status
    assert resp.json["error"]["field"] == field


def test_click_on_a_stored_link_names_that_link(api, client, services):
    link = api("POST", "/api/links", 201, json={"sub1": "abc"})
    resp = client.get(link["url"])
    row = services.store.find("clicks", unique_click_id=_redirect_params(resp)["transaction_id"][0])
    assert row["link_id"] == link["id"]
