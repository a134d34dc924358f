"""The Google Ads uploadClickConversions mock over raw HTTP: bodies, errors, journal (rules §4)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import faults
from simulator.services import EXTENSION_KEY

# --- success ---------------------------------------------------------------------------------

def test_valid_conversion_is_accepted_with_its_result_echoed(ads, client, services):
    gclid = ads.issue_gclid(services)
    row = ads.conversion(services, gclid)
    resp = ads.upload(client, [row])
    assert resp.status_code == 200
    assert "partialFailureError" not in resp.json
    assert resp.json["results"] == [{"gclid": gclid, "conversionAction": ads.ACTION,
                                     "conversionDateTime": row["conversionDateTime"]}]
    assert resp.json["jobId"].isdigit()


def test_accepted_conversion_is_journaled_as_a_normalized_event(ads, client, services):
    gclid = ads.issue_gclid(services)
    row = ads.conversion(services, gclid)
    ads.upload(client, [row])
    [entry] = ads.entries(services)
    assert (entry["api"], entry["status"], entry["accepted"]) == ("upload", 200, True)
    assert entry["headers"]["Developer-Token"] != ads.AUTH["developer-token"]
    event = entry["events"][0]
    expected_time = datetime.strptime(row["conversionDateTime"], "%Y-%m-%d %H:%M:%S%z")
    assert event["event_name"] == ads.ACTION
    assert event["event_time"] == expected_time.timestamp()
    assert (event["event_id"], event["value"], event["currency"]) == ("conv-1", 12.5, "USD")
    assert event["click_id"] == {"kind": "gclid", "value": gclid, "field": "conversions[0].gclid"}
    assert event["raw"] == row
    assert event["field_prefix"] == "conversions[0]"
    assert event["attribution"]["status"] == "matched"
    assert event["findings"] == []


def test_snake_case_field_names_are_read_like_camel_case(ads, client, services):
    gclid = ads.issue_gclid(services)
    row = {"gclid": gclid, "conversion_action": ads.ACTION,
           "conversion_date_time": ads.stamp(services.clock.now()), "conversion_value": "3.5",
           "currency_code": "EUR", "order_id": "snake-1"}
    resp = client.post(ads.URL, json={"conversions": [row], "partial_failure": True},
                       headers=ads.AUTH)
    assert resp.status_code == 200
    assert resp.json["results"][0]["conversionAction"] == ads.ACTION
    event = ads.entries(services)[0]["events"][0]
    assert (event["event_id"], event["value"], event["currency"]) == ("snake-1", 3.5, "EUR")


# --- request-level errors --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"developer-token": "d"}, 401, {"authenticationError": "AUTHENTICATION_ERROR"}),
        ({"Authorization": "Basic abc", "developer-token": "d"}, 401,
         {"authenticationError": "OAUTH_TOKEN_HEADER_INVALID"}),
        ({"Authorization": "Bearer t"}, 400,
         {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}),
    ],
    ids=["no-oauth-token", "not-a-bearer-token", "no-developer-token"],
)
def test_missing_credentials_get_the_request_level_google_ads_error(
    ads, client, services, headers, status, code
):
    resp = ads.upload(client, [ads.conversion(services, ads.issue_gclid(services))],
                      headers=headers)
    assert resp.status_code == status
    err = ads.request_failure(resp)
    assert list(err) == ["code", "message", "status", "details"]
    assert err["code"] == status
    assert err["status"] == {401: "UNAUTHENTICATED", 400: "INVALID_ARGUMENT"}[status]
    [failure] = err["details"]
    assert failure["@type"] == ads.FAILURE_TYPE
    [error] = failure["errors"]
    assert error["errorCode"] == code
    assert set(error) == {"errorCode", "message"}
    assert ads.entries(services)[0]["accepted"] is False


def test_missing_developer_token_body_is_exact(ads, client, services):
    resp = ads.upload(client, [ads.conversion(services, ads.issue_gclid(services))],
                  headers={"Authorization": "Bearer t"})
    assert ads.request_failure(resp) == {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": ads.FAILURE_TYPE, "errors": [{
            "errorCode": {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"},
            "message": "The developer-token parameter is required for all requests.",
        }]}],
    }


@pytest.mark.parametrize("flag", [False, None], ids=["false", "absent"])
def test_partial_failure_not_true_is_refused_with_partial_failure_mode_required(
    ads, client, services, flag
):
    body: dict[str, Any] = {"conversions": [ads.conversion(services, ads.issue_gclid(services))]}
    if flag is not None:
        body["partialFailure"] = flag
    resp = client.post(ads.URL, json=body, headers=ads.AUTH)
    assert resp.status_code == 400
    assert ads.request_failure(resp) == {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{
            "@type": ads.FAILURE_TYPE,
            "errors": [{
                "errorCode": {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"},
                "message": "The partial failure field was false in the request. This method "
                           "requires this field be set to true.",
                "location": {"fieldPathElements": [{"fieldName": "partial_failure"}]},
            }],
        }],
    }
    [entry] = ads.entries(services)
    assert entry["accepted"] is False
    assert entry["findings"][0]["code"] == "PARTIAL_FAILURE_MODE_REQUIRED"
    assert len(entry["events"]) == 1


def test_more_than_2000_conversions_are_refused_whole(ads, client, services):
    gclid = ads.issue_gclid(services)
    rows = [ads.conversion(services, gclid, orderId=f"o{i}") for i in range(2001)]
    resp = ads.upload(client, rows)
    assert resp.status_code == 400
    failure = ads.request_failure(resp)["details"][0]["errors"][0]
    assert failure["errorCode"] == {"conversionUploadError": "TOO_MANY_CONVERSIONS_IN_REQUEST"}


def test_unknown_field_is_a_json_payload_error(ads, client, services):
    row = ads.conversion(services, ads.issue_gclid(services), clickId="x")
    resp = ads.upload(client, [row])
    assert resp.status_code == 400
    message = ('Invalid JSON payload received. Unknown name "clickId" at \'conversions[0]\': '
               "Cannot find field.")
    assert resp.json == {"error": {
        "code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": "conversions[0]", "description": message}]}],
    }}


def test_injected_fault_answers_in_the_google_error_model(ads, client, services):
    faults.add(services.store, services.clock, platform="google_ads", kind="status",
               status=503, retry_after=7)
    resp = ads.upload(client, [ads.conversion(services, ads.issue_gclid(services))])
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "7"
    assert resp.json == {"error": {"code": 503, "message": "The service is currently unavailable.",
                                   "status": "UNAVAILABLE"}}


# --- validateOnly ----------------------------------------------------------------------------

def test_validate_only_answers_without_results_and_records_nothing_as_accepted(
    ads, client, services
):
    gclid = ads.issue_gclid(services)
    resp = ads.upload(client, [ads.conversion(services, gclid)], validateOnly=True)
    assert resp.status_code == 200
    assert resp.json == {}
    assert ads.entries(services)[0]["accepted"] is False
    assert "partialFailureError" not in ads.upload(client, [ads.conversion(services, gclid)]).json


def test_validate_only_still_reports_row_errors(ads, client, services):
    resp = ads.upload(client, [ads.conversion(services, "not a gclid!")], validateOnly=True)
    assert "results" not in resp.json
    assert ads.row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "UNPARSEABLE_GCLID"}


# --- options ---------------------------------------------------------------------------------

def test_too_recent_event_is_reported_only_when_the_option_is_on(ads, client, services):
    gclid = ads.issue_gclid(services, ago=timedelta(hours=1))
    assert "partialFailureError" not in ads.upload(client, [ads.conversion(services, gclid)]).json

    strict = create_app(testing_config(google_check_too_recent=True, start_workers=False))
    try:
        svc = strict.extensions[EXTENSION_KEY]
        recent = ads.issue_gclid(svc, ago=timedelta(hours=1))
        resp = ads.upload(strict.test_client(), [ads.conversion(svc, recent)])
        assert ads.row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "TOO_RECENT_EVENT"}
    finally:
        shutdown(strict)


@pytest.mark.parametrize("path", [
    "/google-ads/latest/customers/1234567890:uploadClickConversions",
    "/google-ads/v18/customers/123-456-7890:uploadClickConversions",
], ids=["bad-version", "dashed-customer-id"])
def test_unroutable_path_is_not_found(ads, client, services, path):
    resp = client.post(path, json={"conversions": [], "partialFailure": True}, headers=ads.AUTH)
    assert resp.status_code == 404
    assert resp.json["error"]["status"] == "NOT_FOUND"
