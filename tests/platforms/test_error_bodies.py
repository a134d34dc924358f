"""The exact error bodies of issue 3 that other tests check only in part, pinned whole
(platform-rules §2, §4, §5). Per-request ids (fbtrace_id, requestId) are checked, then dropped."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from simulator.platforms import clickids

META = "/meta/v21.0/1234567890/events?access_token=EAAGtesttoken0123456789"
GOOGLE_ADS = "/google-ads/v18/customers/1234567890:uploadClickConversions"
DATAMANAGER = "/datamanager/v1/events:ingest"
AUTH = {"Authorization": "Bearer ya29.test-token", "developer-token": "dev-token-123"}
ADS_FAILURE = "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure"
DM_METHOD = {"method": "google.ads.datamanager.v1.IngestionService.IngestEvents",
             "service": "datamanager.googleapis.com"}


def meta_event(now: int) -> dict[str, Any]:
    return {"event_name": "Lead", "event_time": now - 60, "action_source": "system_generated",
            "user_data": {"external_id": "a" * 64}}


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    err = dict(body["error"])
    assert isinstance(err.pop("fbtrace_id"), str)
    return err


def without_request_id(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [dict(d) for d in details]
    assert isinstance(out[0].pop("requestId"), str)
    return out


@pytest.fixture
def gclid(services) -> str:
    return clickids.issue(services.store, services.clock, random.Random(7), "google",
                          at=services.clock.now() - timedelta(days=1))["click_id"]


def ads_row(gclid: str, **changes: Any) -> dict[str, Any]:
    return {"gclid": gclid, "conversionAction": "customers/1234567890/conversionActions/9",
            "conversionDateTime": "2026-11-01 10:00:00+00:00", "orderId": "o-1", **changes}


def dm_body(gclid: str, count: int = 1, **event: Any) -> dict[str, Any]:
    one = {"eventTimestamp": "2026-11-20T10:00:00Z", "adIdentifiers": {"gclid": gclid}, **event}
    return {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS",
                                                   "accountId": "1234567890"},
                              "productDestinationId": "987654321"}],
            "events": [one] * count, "encoding": "HEX"}


def dm_error(message: str, reason: str, field: str) -> dict[str, Any]:
    return {"error": {
        "code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
             "domain": "datamanager.googleapis.com", "metadata": DM_METHOD},
            {"@type": "type.googleapis.com/google.rpc.BadRequest",
             "fieldViolations": [{"field": field, "description": message, "reason": reason}]},
        ],
    }}


def test_meta_more_than_a_thousand_events_body(client, services):
    now = int(services.clock.time())
    resp = client.post(META, json={"data": [meta_event(now)] * 1001})
    assert resp.status_code == 400
    assert without_trace(resp.json) == {
        "message": "Invalid parameter", "type": "OAuthException", "code": 100,
        "is_transient": False, "error_user_title": "Too Many Events",
        "error_user_msg": "A request may hold at most 1000 events; this one holds 1001.",
    }


def test_meta_throttling_body_is_code_17_with_retry_after(client, services):
    client.post("/api/faults",
                json={"platform": "meta", "kind": "status", "status": 429, "retry_after": 3})
    resp = client.post(META, json={"data": [meta_event(int(services.clock.time()))]})
    assert (resp.status_code, resp.headers["Retry-After"]) == (429, "3")
    assert without_trace(resp.json) == {
        "message": "(#17) User request limit reached", "type": "OAuthException", "code": 17,
        "is_transient": True,
    }


def test_google_ads_date_time_without_offset_row_body(client, gclid):
    row = ads_row(gclid, conversionDateTime="2026-11-01 10:00:00")
    resp = client.post(GOOGLE_ADS, json={"conversions": [row], "partialFailure": True},
                       headers=AUTH)
    assert resp.status_code == 200
    assert resp.json["results"] == [{}]
    failure = resp.json["partialFailureError"]
    message = "The string date time's format should be yyyy-mm-dd hh:mm:ss+|-hh:mm."
    assert {**failure, "details": without_request_id(failure["details"])} == {
        "code": 3,
        "message": f"{message}, at conversions[0].conversion_date_time",
        "details": [{"@type": ADS_FAILURE, "errors": [{
            "errorCode": {"dateError": "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"},
            "message": message,
            "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 0},
                                               {"fieldName": "conversion_date_time"}]},
        }]}],
    }


def test_google_ads_more_than_2000_conversions_body(client, gclid):
    rows = [ads_row(gclid, orderId=f"o{i}") for i in range(2001)]
    resp = client.post(GOOGLE_ADS, json={"conversions": rows, "partialFailure": True},
                       headers=AUTH)
    assert resp.status_code == 400
    err = resp.json["error"]
    assert {**err, "details": without_request_id(err["details"])} == {
        "code": 400, "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": ADS_FAILURE, "errors": [{
            "errorCode": {"conversionUploadError": "TOO_MANY_CONVERSIONS_IN_REQUEST"},
            "message": "Upload fewer than 2001 events in a single request.",
            "location": {"fieldPathElements": [{"fieldName": "conversions"}]},
        }]}],
    }


@pytest.mark.parametrize(
    ("count", "event", "message", "reason", "field"),
    [
        (2001, {}, "Too many elements at 'events': 2001, at most 2000 are allowed.",
         "TOO_MANY_EVENTS", "events"),
        (1, {"userData": {"userIdentifiers": [{"emailAddress": "john@example.com"}]}},
         "Invalid format at 'events[0].user_data.user_identifiers[0].email_address': "
         '"john@example.com"',
         "INVALID_SHA256_FORMAT", "events[0].user_data.user_identifiers[0].email_address"),
    ],
    ids=["too-many-events", "invalid-sha256-format"],
)
def test_datamanager_error_bodies(client, gclid, count, event, message, reason, field):
    resp = client.post(DATAMANAGER, json=dm_body(gclid, count, **event), headers=AUTH)
    assert resp.status_code == 400
    assert resp.json == dm_error(message, reason, field)


def test_datamanager_invalid_format_body(client, gclid):
    resp = client.post(DATAMANAGER, json=dm_body(gclid, eventTimestamp="2026-11-20 10:00:00"),
                       headers=AUTH)
    assert resp.status_code == 400
    [_, bad_request] = resp.json["error"]["details"]
    message = bad_request["fieldViolations"][0]["description"]
    assert resp.json == dm_error(message, "INVALID_FORMAT", "events[0].event_timestamp")
    assert message.startswith("Invalid format at 'events[0].event_timestamp'")
