"""Google Ads row errors under partial failure: each bad row gets its GoogleAdsFailure (§4)."""

from __future__ import annotations

from datetime import timedelta

import pytest


def test_row_error_carries_the_google_ads_failure_with_its_field_path(ads, client, services):
    good = ads.conversion(services, ads.issue_gclid(services))
    bad = ads.conversion(services, "not a gclid!", orderId="conv-2")
    resp = ads.upload(client, [good, bad])
    assert resp.status_code == 200
    assert resp.json["results"][1] == {}
    assert resp.json["results"][0]["gclid"] == good["gclid"]
    failure = resp.json["partialFailureError"]
    request_id = failure["details"][0]["requestId"]
    assert failure == {
        "code": 3,
        "message": "The imported gclid could not be decoded., at conversions[1].gclid",
        "details": [{
            "@type": ads.FAILURE_TYPE,
            "errors": [{
                "errorCode": {"conversionUploadError": "UNPARSEABLE_GCLID"},
                "message": "The imported gclid could not be decoded.",
                "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 1},
                                                   {"fieldName": "gclid"}]},
            }],
            "requestId": request_id,
        }],
    }
    [entry] = ads.entries(services)
    assert entry["accepted"] is True
    assert entry["events"][1]["findings"] == [{
        "code": "UNPARSEABLE_GCLID", "field": "conversions[1].gclid",
        "message": "The imported gclid could not be decoded.",
    }]


def test_gclid_with_one_letter_case_flipped_is_event_not_found_and_journaled_modified(
    ads, client, services
):
    gclid = ads.issue_gclid(services)
    i = next(i for i, c in enumerate(gclid) if c.isalpha())
    mangled = gclid[:i] + gclid[i].swapcase() + gclid[i + 1:]
    resp = ads.upload(client, [ads.conversion(services, mangled)])
    assert ads.row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "EVENT_NOT_FOUND"}
    attribution = ads.entries(services)[0]["events"][0]["attribution"]
    assert attribution["status"] == "modified"
    assert attribution["issued_click_id"] == gclid


def test_click_91_days_old_is_expired_event(ads, client, services):
    gclid = ads.issue_gclid(services, ago=timedelta(days=91))
    resp = ads.upload(client, [ads.conversion(services, gclid)])
    assert ads.row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "EXPIRED_EVENT"}
    assert ads.entries(services)[0]["events"][0]["attribution"]["status"] == "expired"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"gclid": "Cj0KCQiA" + "x" * 40}, {"conversionUploadError": "EVENT_NOT_FOUND"},
         "gclid"),
        ({"gclid": "short"}, {"conversionUploadError": "UNPARSEABLE_GCLID"}, "gclid"),
        ({"gclid": None, "gbraid": "0AAAAAgbraid123", "wbraid": "CkAwbraid456"},
         {"conversionUploadError": "GBRAID_WBRAID_BOTH_SET"}, "wbraid"),
        ({"gbraid": "0AAAAAgbraid123"}, {"conversionUploadError": "GBRAID_WBRAID_BOTH_SET"},
         "gbraid"),
        ({"conversionDateTime": "2026-11-01 10:00:00"},
         {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"}, "conversion_date_time"),
        ({"conversionDateTime": "2026-11-01T10:00:00+00:00"},
         {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"}, "conversion_date_time"),
        ({"conversionAction": None}, {"fieldError": "REQUIRED"}, "conversion_action"),
        ({"conversionAction": "987654321"}, {"requestError": "RESOURCE_NAME_MALFORMED"},
         "conversion_action"),
        ({"conversionAction": "customers/1/conversionActions/987654321"},
         {"conversionUploadError": "NO_CONVERSION_ACTION_FOUND"}, "conversion_action"),
    ],
    ids=["never-issued", "unparseable", "gbraid-and-wbraid", "gclid-and-gbraid", "no-offset",
         "iso-t-separator", "no-action", "bare-action-id", "other-accounts-action"],
)
def test_invalid_row_gets_its_error_code(ads, client, services, changes, code, field):
    row = {**ads.conversion(services, ads.issue_gclid(services)), **changes}
    resp = ads.upload(client, [{k: v for k, v in row.items() if v is not None}])
    assert resp.status_code == 200
    assert resp.json["results"] == [{}]
    [error] = ads.row_errors(resp)
    assert error["errorCode"] == code
    assert error["location"]["fieldPathElements"] == [{"fieldName": "conversions", "index": 0},
                                                       {"fieldName": field}]


def test_conversion_before_its_click_is_conversion_precedes_event(ads, client, services):
    gclid = ads.issue_gclid(services, ago=timedelta(hours=1))
    early = ads.stamp(services.clock.now() - timedelta(hours=2))
    resp = ads.upload(client, [ads.conversion(services, gclid, conversionDateTime=early)])
    assert ads.row_errors(resp)[0]["errorCode"] == {
        "conversionUploadError": "CONVERSION_PRECEDES_EVENT"}


def test_conversion_date_time_without_offset_is_journaled_with_no_event_time(ads, client, services):
    ads.upload(client, [ads.conversion(services, ads.issue_gclid(services),
                               conversionDateTime="2026-11-01 10:00:00")])
    assert ads.entries(services)[0]["events"][0]["event_time"] is None


def test_same_order_id_twice_in_one_request_refuses_both_rows(ads, client, services):
    gclid = ads.issue_gclid(services)
    rows = [ads.conversion(services, gclid),
            ads.conversion(services, gclid, conversionDateTime=ads.stamp(services.clock.now()))]
    resp = ads.upload(client, rows)
    assert resp.json["results"] == [{}, {}]
    assert [e["errorCode"] for e in ads.row_errors(resp)] == [
        {"conversionUploadError": "DUPLICATE_ORDER_ID"}] * 2


def test_order_id_used_by_an_earlier_request_is_order_id_already_in_use(ads, client, services):
    gclid = ads.issue_gclid(services)
    assert "partialFailureError" not in ads.upload(client, [ads.conversion(services, gclid)]).json
    later = ads.conversion(services, gclid, conversionDateTime=ads.stamp(services.clock.now()))
    resp = ads.upload(client, [later])
    [error] = ads.row_errors(resp)
    assert error["errorCode"] == {"conversionUploadError": "ORDER_ID_ALREADY_IN_USE"}
    assert error["location"]["fieldPathElements"][1] == {"fieldName": "order_id"}


def test_order_id_is_per_conversion_action(ads, client, services):
    gclid = ads.issue_gclid(services)
    ads.upload(client, [ads.conversion(services, gclid)])
    other = ads.conversion(services, gclid,
                       conversionAction="customers/1234567890/conversionActions/1")
    assert "partialFailureError" not in ads.upload(client, [other]).json


def test_same_click_and_time_uploaded_again_is_click_conversion_already_exists(
    ads, client, services
):
    gclid = ads.issue_gclid(services)
    row = ads.conversion(services, gclid, orderId=None)
    ads.upload(client, [row])
    resp = ads.upload(client, [row])
    assert ads.row_errors(resp)[0]["errorCode"] == {
        "conversionUploadError": "CLICK_CONVERSION_ALREADY_EXISTS"}


def test_rejected_row_does_not_consume_its_order_id(ads, client, services):
    gclid = ads.issue_gclid(services)
    ads.upload(client, [ads.conversion(services, gclid, conversionDateTime="2026-11-01 10:00:00")])
    assert "partialFailureError" not in ads.upload(client, [ads.conversion(services, gclid)]).json
