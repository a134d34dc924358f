"""The partner's postback templates: saving validates, global and offer postbacks both fire."""

from __future__ import annotations

import pytest

RECEIVER = ("https://receiver.example/postback"
            "?click_id={sub1}&payout={payout_amount}&txn={conversion_id}")


def test_saved_https_postback_has_no_warnings(api):
    saved = api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    assert saved["offer_id"] is None
    assert saved["method"] == "GET"
    assert saved["enabled"] is True
    assert saved["warnings"] == []
    assert api("GET", f"/api/postbacks/{saved['id']}")["url"] == RECEIVER


def test_plain_http_postback_is_saved_with_a_warning(api):
    saved = api("POST", "/api/postbacks", 201,
                json={"url": "http://receiver.example/pb?click_id={sub1}"})
    assert [w["code"] for w in saved["warnings"]] == ["insecure_scheme"]


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://r.example/pb?click_id={sub_1}", "did you mean {sub1}?"),
        ("https://r.example/pb?click_id={sub1", "never closed"),
        ("r.example/pb?click_id={sub1}", "must start with http:// or https://"),
    ],
    ids=["misspelled-macro", "unbalanced-brace", "no-scheme"],
)
def test_invalid_template_is_refused_with_422_naming_url_and_the_problem(api, url, needle):
    error = api("POST", "/api/postbacks", 422, json={"url": url})["error"]
    assert error["field"] == "url"
    assert error["code"] == "invalid_template"
    assert needle in error["message"]
    assert any(needle in p["message"] for p in error["errors"])
    assert api("GET", "/api/postbacks")["postbacks"] == []


def test_validate_reports_without_saving(api):
    result = api("POST", "/api/postbacks/validate",
                 json={"url": "http://r.example/pb?c={sub_1}"})
    assert result["valid"] is False
    assert [e["code"] for e in result["errors"]] == ["unknown_macro"]
    assert "insecure_scheme" in [w["code"] for w in result["warnings"]]
    assert api("GET", "/api/postbacks")["postbacks"] == []


def test_post_postback_defaults_to_a_form_body(api):
    saved = api("POST", "/api/postbacks", 201, json={"url": RECEIVER, "method": "POST"})
    assert saved["body_format"] == "form"


def test_get_postback_with_a_body_format_is_refused(api):
    error = api("POST", "/api/postbacks", 400, json={"url": RECEIVER, "body_format": "json"})
    assert error["error"]["field"] == "body_format"


def test_update_revalidates_the_url(api):
    saved = api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    error = api("PATCH", f"/api/postbacks/{saved['id']}", 422,
                json={"url": "https://r.example/?x={payout}"})["error"]
    assert "did you mean {payout_amount}?" in error["message"]
    updated = api("PATCH", f"/api/postbacks/{saved['id']}", json={"enabled": False})
    assert updated["enabled"] is False
    assert updated["url"] == RECEIVER


def test_deleted_postback_is_gone_but_its_deliveries_stay(api, click):
    saved = api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    fired = api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})
    api("DELETE", f"/api/postbacks/{saved['id']}", 204)
    api("GET", f"/api/postbacks/{saved['id']}", 404)
    delivery = api("GET", f"/api/deliveries/{fired['delivery_ids'][0]}")
    assert delivery["postback_id"] is None


def test_global_and_offer_postbacks_both_fire(api, click):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    api("POST", "/api/postbacks", 201,
        json={"offer_id": 1, "url": "https://offer.example/pb?sub={sub2}&id={unique_click_id}"})
    api("POST", "/api/offers", 201, json={"name": "other", "landing_url": "https://o.test/",
                                          "payout": 1, "currency": "USD"})
    api("POST", "/api/postbacks", 201, json={"offer_id": 2, "url": "https://never.example/"})
    fired = api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})
    urls = [api("GET", f"/api/deliveries/{d}")["url"] for d in fired["delivery_ids"]]
    assert urls == [
        f"https://receiver.example/postback?click_id=abc&payout=12.5&txn={fired['conversion_id']}",
        f"https://offer.example/pb?sub=facebook&id={click['unique_click_id']}",
    ]


def test_disabled_postback_does_not_fire(api, click):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER, "enabled": False})
    fired = api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})
    assert fired["delivery_ids"] == []


def test_post_postback_queues_a_json_body(api, click):
    api("POST", "/api/postbacks", 201,
        json={"url": "https://r.example/pb", "method": "POST", "body_format": "json"})
    fired = api("POST", "/api/conversions", 201, json={"click": click["id"], "payout": 3})
    delivery = api("GET", f"/api/deliveries/{fired['delivery_ids'][0]}")
    assert delivery["method"] == "POST"
    assert delivery["content_type"] == "application/json"
    assert '"payout_amount":"3"' in delivery["body"]


def test_test_conversion_fires_a_flagged_sample_conversion(api):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    fired = api("POST", "/api/postbacks/test", 201, json={"sub1": "my-test"})
    assert fired["is_test"] is True
    assert len(fired["delivery_ids"]) == 1
    delivery = api("GET", f"/api/deliveries/{fired['delivery_ids'][0]}")
    assert "click_id=my-test" in delivery["url"]
    assert api("GET", f"/api/clicks/{fired['unique_click_id']}")["is_test"] is True


def test_test_conversion_without_a_postback_is_a_409(api):
    error = api("POST", "/api/postbacks/test", 409)["error"]
    assert error["code"] == "no_postback"


def test_test_conversion_of_one_postback_fires_only_that_one(api):
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    second = api("POST", "/api/postbacks", 201, json={"url": "https://two.example/?c={sub1}"})
    fired = api("POST", "/api/postbacks/test", 201, json={"postback_id": second["id"]})
    assert [api("GET", f"/api/deliveries/{d}")["postback_id"] for d in fired["delivery_ids"]] \
        == [second["id"]]


def test_macros_lists_the_networks_fourteen(api):
    names = [m["name"] for m in api("GET", "/api/macros")["macros"]]
    assert len(names) == 14
    assert names[:5] == ["sub1", "sub2", "sub3", "sub4", "sub5"]


def test_postbacks_for_an_offer_are_its_own_plus_the_global_ones(api):
    api("POST", "/api/offers", 201, json={"name": "other", "landing_url": "https://o.test/",
                                          "payout": 1, "currency": "USD"})
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    api("POST", "/api/postbacks", 201, json={"offer_id": 1, "url": RECEIVER})
    api("POST", "/api/postbacks", 201, json={"offer_id": 2, "url": RECEIVER})
    listed = api("GET", "/api/postbacks?offer_id=2")["postbacks"]
    assert [p["offer_id"] for p in listed] == [None, 2]
