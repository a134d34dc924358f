"""The network persona through the API: postbacks speak it, statuses fire it, deactivation shows."""

from __future__ import annotations

from typing import Any

IMPACT_URL = "https://r.example/pb?c={SubId1}&st={Status}&txn={ActionId}"


def test_networks_lists_every_persona_and_the_default(api: Any) -> None:
    body = api("GET", "/api/networks")
    assert body["default"] == "inflektion"
    assert [n["name"] for n in body["networks"]] == [
        "cake", "everflow", "impact", "inflektion", "keitaro", "tune"]
    assert api("GET", "/api/networks/everflow")["deactivate_after"] == {
        "failures": 10, "window_hours": 72}
    api("GET", "/api/networks/nope", 404)


def test_macros_follow_the_network(api: Any) -> None:
    assert api("GET", "/api/macros")["macros"][0]["placeholder"] == "{sub1}"
    impact = api("GET", "/api/macros?network=impact")
    assert impact["network"] == "impact"
    assert impact["macros"][0] == {"name": "SubId1", "placeholder": "{SubId1}", "value": "sub1",
                                   "description": "Sub ID 1, as sent (not encoded)",
                                   "encoding": "raw"}
    assert api("GET", "/api/macros?network=cake")["macros"][0]["placeholder"] == "#s1#"


def test_a_postback_validates_in_its_networks_dialect(api: Any) -> None:
    refused = api("POST", "/api/postbacks", 422, json={"url": IMPACT_URL})
    assert refused["error"]["code"] == "invalid_template"
    saved = api("POST", "/api/postbacks", 201, json={"url": IMPACT_URL, "network": "impact"})
    assert saved["network"] == "impact"
    assert saved["warnings"] == []
    unknown = api("POST", "/api/postbacks", 422, json={"url": IMPACT_URL, "network": "nope"})
    assert unknown["error"]["code"] == "unknown_network"
    check = api("POST", "/api/postbacks/validate", json={"url": "https://r.example/?c=#s1#",
                                                          "network": "cake"})
    assert check["valid"]
    assert check["warnings"] == []


def test_an_offers_network_is_its_new_postbacks_default(api: Any) -> None:
    api("PATCH", "/api/offers/1", json={"network": "keitaro"})
    saved = api("POST", "/api/postbacks", 201,
                json={"offer_id": 1, "url": "https://r.example/?c={sub_id_1}&s={status}"})
    assert saved["network"] == "keitaro"


def test_each_lifecycle_move_fires_the_personas_status(api: Any, click: dict) -> None:
    api("POST", "/api/postbacks", 201, json={"url": IMPACT_URL, "network": "impact"})
    sale = api("POST", "/api/conversions", 201,
               json={"click": click["unique_click_id"], "status": "pending"})
    api("PATCH", f"/api/conversions/{sale['conversion_id']}", json={"status": "approved"})
    api("PATCH", f"/api/conversions/{sale['conversion_id']}", json={"status": "reversed"})
    urls = [d["url"] for d in api("GET", "/api/deliveries")["deliveries"]]
    assert sorted(u.split("st=")[1].split("&")[0] for u in urls) == [
        "APPROVED", "PENDING", "REVERSED"]
    again = api("PATCH", f"/api/conversions/{sale['conversion_id']}", 409,
                json={"status": "approved"})
    assert again["error"]["code"] == "invalid_transition"


def test_the_default_network_fires_on_approval_only(api: Any, click: dict) -> None:
    api("POST", "/api/postbacks", 201, json={"url": "https://r.example/?c={sub1}"})
    sale = api("POST", "/api/conversions", 201,
               json={"click": click["unique_click_id"], "status": "pending"})
    assert sale["delivery_ids"] == []
    approved = api("PATCH", f"/api/conversions/{sale['conversion_id']}",
                   json={"status": "approved"})
    reversed_ = api("PATCH", f"/api/conversions/{sale['conversion_id']}",
                    json={"status": "reversed"})
    assert len(approved["delivery_ids"]) == 1
    assert reversed_["delivery_ids"] == approved[
        "delivery_ids"]


def test_a_disabled_postback_shows_why_and_a_test_still_fires_it(app, api: Any) -> None:
    saved = api("POST", "/api/postbacks", 201,
                json={"url": "https://r.example/?c={sub1}", "network": "everflow"})
    app.extensions["postback_sim"].store.update("postbacks", saved["id"], {
        "enabled": 0, "disabled_reason": "Everflow disabled this postback", "disabled_at": "x"})
    shown = api("GET", f"/api/postbacks/{saved['id']}")
    assert shown["enabled"] is False
    assert shown["disabled_reason"] == "Everflow disabled this postback"
    fired = api("POST", "/api/postbacks/test", 201, json={"postback_id": saved["id"]})
    assert len(fired["delivery_ids"]) == 1
    enabled = api("PATCH", f"/api/postbacks/{saved['id']}", json={"enabled": True})
    assert (enabled["enabled"], enabled["disabled_reason"]) == (True, None)
