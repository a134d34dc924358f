"""The Google Ads uploadConversionAdjustments mock: retractions and restatements of conversions
the upload mock accepted, their row errors, and the journal (issue 15 point 4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.openapi import document
from simulator.platforms import journal
from simulator.services import EXTENSION_KEY

URL = "/google-ads/v18/customers/1234567890:uploadConversionAdjustments"


def uploaded(ads, client, services, **changes: Any) -> dict[str, Any]:
    """One click conversion the upload mock accepted, 2 days ago; returns its row."""
    gclid = ads.issue_gclid(services, ago=timedelta(days=3))
    stamp = ads.stamp(services.clock.now() - timedelta(days=2))
    row = ads.conversion(services, gclid, conversionDateTime=stamp, **changes)
    assert "partialFailureError" not in ads.upload(client, [row]).json
    return row


def adjustment(ads, services, kind: str = "RETRACTION", **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "conversionAction": ads.ACTION,
        "adjustmentType": kind,
        "adjustmentDateTime": ads.stamp(services.clock.now() - timedelta(minutes=1)),
        "orderId": "conv-1",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def adjust(ads, client, rows: list[dict[str, Any]], **body: Any) -> Any:
    return client.post(URL, json={"conversionAdjustments": rows, "partialFailure": True, **body},
                       headers=ads.AUTH)


def adjust_entries(services) -> list[dict[str, Any]]:
    return [e for e in journal.search(services.store, platform="google_ads")
            if e["api"] == "adjust"]


def error_code(ads, resp) -> dict[str, str]:
    return ads.row_errors(resp)[0]["errorCode"]


# --- accepted --------------------------------------------------------------------------------

def test_retraction_by_order_id_is_accepted_and_journaled(ads, client, services):
    uploaded(ads, client, services)
    row = adjustment(ads, services)
    resp = adjust(ads, client, [row])
    assert resp.status_code == 200
    assert "partialFailureError" not in resp.json
    assert resp.json["results"] == [{
        "orderId": "conv-1", "conversionAction": ads.ACTION,
        "adjustmentDateTime": row["adjustmentDateTime"], "adjustmentType": "RETRACTION"}]
    [entry] = adjust_entries(services)
    assert (entry["status"], entry["accepted"]) == (200, True)
    [event] = entry["events"]
    assert (event["event_name"], event["event_id"]) == (ads.ACTION, "conv-1")
    assert event["field_prefix"] == "conversionAdjustments[0]"
    assert event["raw"] == row
    assert event["attribution"]["status"] == "matched"
    assert event["findings"] == []


def test_retraction_by_gclid_date_time_pair_is_accepted(ads, client, services):
    original = uploaded(ads, client, services)
    pair = {"gclid": original["gclid"], "conversionDateTime": original["conversionDateTime"]}
    resp = adjust(ads, client, [adjustment(ads, services, orderId=None, gclidDateTimePair=pair)])
    assert "partialFailureError" not in resp.json
    assert resp.json["results"][0]["gclidDateTimePair"] == pair
    event = adjust_entries(services)[0]["events"][0]
    assert event["click_id"]["value"] == original["gclid"]
    assert event["click_id"]["field"] == "conversionAdjustments[0].gclidDateTimePair.gclid"


def test_restatement_carries_its_value_and_currency_into_the_journal(ads, client, services):
    uploaded(ads, client, services)
    row = adjustment(ads, services, "RESTATEMENT",
                     restatementValue={"adjustedValue": 7.5, "currencyCode": "USD"})
    resp = adjust(ads, client, [row])
    assert "partialFailureError" not in resp.json
    event = adjust_entries(services)[0]["events"][0]
    assert (event["value"], event["currency"]) == (7.5, "USD")


def test_an_adjustment_is_not_indexed_as_a_new_conversion(ads, client, services):
    uploaded(ads, client, services)
    adjust(ads, client, [adjustment(ads, services)])
    found = journal.earlier_events(services.store, "google_ads", ["conv-1"], 0)
    [(journal_id, _prefix)] = found.values()
    assert services.store.get("journal", journal_id)["api"] == "upload"


# --- row errors ------------------------------------------------------------------------------

def test_unknown_order_id_is_conversion_not_found(ads, client, services):
    uploaded(ads, client, services)
    resp = adjust(ads, client, [adjustment(ads, services, orderId="never-uploaded")])
    assert resp.status_code == 200
    assert resp.json["results"] == [{}]
    assert error_code(ads, resp) == {"conversionAdjustmentUploadError": "CONVERSION_NOT_FOUND"}
    path = ads.row_errors(resp)[0]["location"]["fieldPathElements"]
    assert path == [{"fieldName": "conversion_adjustments", "index": 0},
                    {"fieldName": "order_id"}]
    [entry] = adjust_entries(services)
    finding = entry["events"][0]["findings"][0]
    assert finding["code"] == "CONVERSION_NOT_FOUND"
    assert finding["field"] == "conversionAdjustments[0].order_id"


def test_unknown_gclid_date_time_pair_is_conversion_not_found(ads, client, services):
    original = uploaded(ads, client, services)
    pair = {"gclid": original["gclid"],
            "conversionDateTime": ads.stamp(services.clock.now() - timedelta(days=1))}
    resp = adjust(ads, client, [adjustment(ads, services, orderId=None, gclidDateTimePair=pair)])
    assert error_code(ads, resp) == {"conversionAdjustmentUploadError": "CONVERSION_NOT_FOUND"}


def test_a_conversion_of_another_action_is_not_found(ads, client, services):
    uploaded(ads, client, services)
    other = "customers/1234567890/conversionActions/1"
    resp = adjust(ads, client, [adjustment(ads, services, conversionAction=other)])
    assert error_code(ads, resp) == {"conversionAdjustmentUploadError": "CONVERSION_NOT_FOUND"}


def test_adjustment_before_the_conversion_is_refused(ads, client, services):
    uploaded(ads, client, services)
    early = ads.stamp(services.clock.now() - timedelta(days=3))
    resp = adjust(ads, client, [adjustment(ads, services, adjustmentDateTime=early)])
    assert error_code(ads, resp) == {
        "conversionAdjustmentUploadError": "ADJUSTMENT_PRECEDES_CONVERSION"}


def test_too_recent_conversion_is_reported_only_when_the_option_is_on(ads, client, services):
    strict = create_app(testing_config(google_check_too_recent=True, start_workers=False))
    try:
        svc = strict.extensions[EXTENSION_KEY]
        strict_client = strict.test_client()
        gclid = ads.issue_gclid(svc, ago=timedelta(days=1))
        assert "partialFailureError" not in ads.upload(
            strict_client, [ads.conversion(svc, gclid)]).json
        resp = adjust(ads, strict_client, [adjustment(ads, svc)])
        assert error_code(ads, resp) == {
            "conversionAdjustmentUploadError": "TOO_RECENT_CONVERSION"}
    finally:
        shutdown(strict)


def test_restatement_without_adjusted_value_is_refused(ads, client, services):
    uploaded(ads, client, services)
    row = adjustment(ads, services, "RESTATEMENT", restatementValue={"currencyCode": "USD"})
    resp = adjust(ads, client, [row])
    assert resp.json["results"] == [{}]
    assert error_code(ads, resp) == {"fieldError": "REQUIRED"}
    path = ads.row_errors(resp)[0]["location"]["fieldPathElements"]
    assert [e["fieldName"] for e in path] == [
        "conversion_adjustments", "restatement_value", "adjusted_value"]


def test_second_retraction_is_already_retracted(ads, client, services):
    uploaded(ads, client, services)
    assert "partialFailureError" not in adjust(ads, client, [adjustment(ads, services)]).json
    resp = adjust(ads, client, [adjustment(ads, services)])
    assert error_code(ads, resp) == {
        "conversionAdjustmentUploadError": "CONVERSION_ALREADY_RETRACTED"}


def test_only_the_failed_row_fails(ads, client, services):
    uploaded(ads, client, services)
    resp = adjust(ads, client, [adjustment(ads, services, orderId="nope"),
                                adjustment(ads, services)])
    assert resp.json["results"][0] == {}
    assert resp.json["results"][1]["orderId"] == "conv-1"
    assert len(ads.row_errors(resp)) == 1


# --- request-level errors --------------------------------------------------------------------

def test_partial_failure_false_is_refused(ads, client, services):
    resp = adjust(ads, client, [adjustment(ads, services)], partialFailure=False)
    assert resp.status_code == 400
    err = ads.request_failure(resp)
    assert err["details"][0]["errors"][0]["errorCode"] == {
        "partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"}
    assert adjust_entries(services)[0]["accepted"] is False


def test_missing_credentials_are_refused(ads, client, services):
    resp = client.post(URL, json={"conversionAdjustments": [adjustment(ads, services)],
                                  "partialFailure": True})
    assert resp.status_code == 401


@pytest.mark.parametrize("path", [
    "/google-ads/latest/customers/1234567890:uploadConversionAdjustments",
    "/google-ads/v18/customers/123-456-7890:uploadConversionAdjustments",
], ids=["bad-version", "dashed-customer-id"])
def test_unroutable_path_is_not_found(ads, client, services, path):
    resp = client.post(path, json={}, headers=ads.AUTH)
    assert resp.status_code == 404
    assert adjust_entries(services)[0]["status"] == 404


def test_adjustment_entries_match_the_documented_journal_entry(ads, client, services):
    uploaded(ads, client, services)
    adjust(ads, client, [adjustment(ads, services), adjustment(ads, services, orderId=None),
                         adjustment(ads, services, "RESTATEMENT", orderId="nope")])
    [entry] = adjust_entries(services)
    doc = document()
    schema = {"$ref": "#/components/schemas/JournalEntry", "components": doc["components"]}
    assert list(Draft202012Validator(schema).iter_errors(entry)) == []
    assert [e["attribution"]["status"] for e in entry["events"]] == [
        "matched", "unknown", "unknown"]
