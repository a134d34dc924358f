"""The Google Ads uploadClickConversions mock over raw HTTP: bodies, errors, journal (rules §4)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import clickids, faults, journal
from simulator.services import EXTENSION_KEY

URL = "/google-ads/v18/customers/1234567890:uploadClickConversions"
ACTION = "customers/1234567890/conversionActions/987654321"
AUTH = {"Authorization": "Bearer ya29.test-token", "developer-token": "dev-token-123"}
FAILURE_TYPE = "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure"


def issue_gclid(services, *, ago: timedelta = timedelta(days=1)) -> str:
    rng = random.Random(services.store.count("ad_clicks"))
    row = clickids.issue(services.store, services.clock, rng, "google",
                         at=services.clock.now() - ago)
    return row["click_id"]


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def conversion(services, gclid: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "gclid": gclid,
        "conversionAction": ACTION,
        "conversionDateTime": stamp(services.clock.now() - timedelta(minutes=5)),
        "conversionValue": 12.5,
        "currencyCode": "USD",
        "orderId": "conv-1",
    }
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def upload(client, rows: list[dict[str, Any]], headers: dict[str, str] | None = None,
           **body: Any):
    payload = {"conversions": rows, "partialFailure": True, **body}
    return client.post(URL, json=payload, headers=AUTH if headers is None else headers)


def entries(services) -> list[dict[str, Any]]:
    return journal.search(services.store, platform="google_ads")


def row_errors(resp) -> list[dict[str, Any]]:
    return resp.json["partialFailureError"]["details"][0]["errors"]


def request_failure(resp) -> dict[str, Any]:
    """The error envelope with the per-request requestId checked and removed."""
    err = dict(resp.json["error"])
    details = [dict(d) for d in err.pop("details")]
    assert isinstance(details[0].pop("requestId"), str)
    return {**err, "details": details}


# --- success ---------------------------------------------------------------------------------

def test_valid_conversion_is_accepted_with_its_result_echoed(client, services):
    gclid = issue_gclid(services)
    row = conversion(services, gclid)
    resp = upload(client, [row])
    assert resp.status_code == 200
    assert "partialFailureError" not in resp.json
    assert resp.json["results"] == [{"gclid": gclid, "conversionAction": ACTION,
                                     "conversionDateTime": row["conversionDateTime"]}]
    assert resp.json["jobId"].isdigit()


def test_accepted_conversion_is_journaled_as_a_normalized_event(client, services):
    gclid = issue_gclid(services)
    row = conversion(services, gclid)
    upload(client, [row])
    [entry] = entries(services)
    assert (entry["api"], entry["status"], entry["accepted"]) == ("upload", 200, True)
    assert entry["headers"]["Developer-Token"] != AUTH["developer-token"]
    event = entry["events"][0]
    expected_time = datetime.strptime(row["conversionDateTime"], "%Y-%m-%d %H:%M:%S%z")
    assert event["event_name"] == ACTION
    assert event["event_time"] == expected_time.timestamp()
    assert (event["event_id"], event["value"], event["currency"]) == ("conv-1", 12.5, "USD")
    assert event["click_id"] == {"kind": "gclid", "value": gclid, "field": "conversions[0].gclid"}
    assert event["raw"] == row
    assert event["field_prefix"] == "conversions[0]"
    assert event["attribution"]["status"] == "matched"
    assert event["findings"] == []


def test_snake_case_field_names_are_read_like_camel_case(client, services):
    gclid = issue_gclid(services)
    row = {"gclid": gclid, "conversion_action": ACTION,
           "conversion_date_time": stamp(services.clock.now()), "conversion_value": "3.5",
           "currency_code": "EUR", "order_id": "snake-1"}
    resp = client.post(URL, json={"conversions": [row], "partial_failure": True}, headers=AUTH)
    assert resp.status_code == 200
    assert resp.json["results"][0]["conversionAction"] == ACTION
    event = entries(services)[0]["events"][0]
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
    client, services, headers, status, code
):
    resp = upload(client, [conversion(services, issue_gclid(services))], headers=headers)
    assert resp.status_code == status
    err = request_failure(resp)
    assert list(err) == ["code", "message", "status", "details"]
    assert err["code"] == status
    assert err["status"] == {401: "UNAUTHENTICATED", 400: "INVALID_ARGUMENT"}[status]
    [failure] = err["details"]
    assert failure["@type"] == FAILURE_TYPE
    [error] = failure["errors"]
    assert error["errorCode"] == code
    assert set(error) == {"errorCode", "message"}
    assert entries(services)[0]["accepted"] is False


def test_missing_developer_token_body_is_exact(client, services):
    resp = upload(client, [conversion(services, issue_gclid(services))],
                  headers={"Authorization": "Bearer t"})
    assert request_failure(resp) == {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": FAILURE_TYPE, "errors": [{
            "errorCode": {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"},
            "message": "The developer-token parameter is required for all requests.",
        }]}],
    }


@pytest.mark.parametrize("flag", [False, None], ids=["false", "absent"])
def test_partial_failure_not_true_is_refused_with_partial_failure_mode_required(
    client, services, flag
):
    body: dict[str, Any] = {"conversions": [conversion(services, issue_gclid(services))]}
    if flag is not None:
        body["partialFailure"] = flag
    resp = client.post(URL, json=body, headers=AUTH)
    assert resp.status_code == 400
    assert request_failure(resp) == {
        "code": 400,
        "message": "Request contains an invalid argument.",
        "status": "INVALID_ARGUMENT",
        "details": [{
            "@type": FAILURE_TYPE,
            "errors": [{
                "errorCode": {"partialFailureError": "PARTIAL_FAILURE_MODE_REQUIRED"},
                "message": "The partial failure field was false in the request. This method "
                           "requires this field be set to true.",
                "location": {"fieldPathElements": [{"fieldName": "partial_failure"}]},
            }],
        }],
    }
    [entry] = entries(services)
    assert entry["accepted"] is False
    assert entry["findings"][0]["code"] == "PARTIAL_FAILURE_MODE_REQUIRED"
    assert len(entry["events"]) == 1


def test_more_than_2000_conversions_are_refused_whole(client, services):
    gclid = issue_gclid(services)
    rows = [conversion(services, gclid, orderId=f"o{i}") for i in range(2001)]
    resp = upload(client, rows)
    assert resp.status_code == 400
    failure = request_failure(resp)["details"][0]["errors"][0]
    assert failure["errorCode"] == {"conversionUploadError": "TOO_MANY_CONVERSIONS_IN_REQUEST"}


def test_unknown_field_is_a_json_payload_error(client, services):
    row = conversion(services, issue_gclid(services), clickId="x")
    resp = upload(client, [row])
    assert resp.status_code == 400
    message = ('Invalid JSON payload received. Unknown name "clickId" at \'conversions[0]\': '
               "Cannot find field.")
    assert resp.json == {"error": {
        "code": 400, "message": message, "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                     "fieldViolations": [{"field": "conversions[0]", "description": message}]}],
    }}


def test_injected_fault_answers_in_the_google_error_model(client, services):
    faults.add(services.store, services.clock, platform="google_ads", kind="status",
               status=503, retry_after=7)
    resp = upload(client, [conversion(services, issue_gclid(services))])
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "7"
    assert resp.json == {"error": {"code": 503, "message": "The service is currently unavailable.",
                                   "status": "UNAVAILABLE"}}


# --- row errors (partial failure) ------------------------------------------------------------

def test_row_error_carries_the_google_ads_failure_with_its_field_path(client, services):
    good = conversion(services, issue_gclid(services))
    bad = conversion(services, "not a gclid!", orderId="conv-2")
    resp = upload(client, [good, bad])
    assert resp.status_code == 200
    assert resp.json["results"][1] == {}
    assert resp.json["results"][0]["gclid"] == good["gclid"]
    failure = resp.json["partialFailureError"]
    request_id = failure["details"][0]["requestId"]
    assert failure == {
        "code": 3,
        "message": "The imported gclid could not be decoded., at conversions[1].gclid",
        "details": [{
            "@type": FAILURE_TYPE,
            "errors": [{
                "errorCode": {"conversionUploadError": "UNPARSEABLE_GCLID"},
                "message": "The imported gclid could not be decoded.",
                "location": {"fieldPathElements": [{"fieldName": "conversions", "index": 1},
                                                   {"fieldName": "gclid"}]},
            }],
            "requestId": request_id,
        }],
    }
    [entry] = entries(services)
    assert entry["accepted"] is True
    assert entry["events"][1]["findings"] == [{
        "code": "UNPARSEABLE_GCLID", "field": "conversions[1].gclid",
        "message": "The imported gclid could not be decoded.",
    }]


def test_gclid_with_one_letter_case_flipped_is_event_not_found_and_journaled_modified(
    client, services
):
    gclid = issue_gclid(services)
    i = next(i for i, c in enumerate(gclid) if c.isalpha())
    mangled = gclid[:i] + gclid[i].swapcase() + gclid[i + 1:]
    resp = upload(client, [conversion(services, mangled)])
    assert row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "EVENT_NOT_FOUND"}
    attribution = entries(services)[0]["events"][0]["attribution"]
    assert attribution["status"] == "modified"
    assert attribution["issued_click_id"] == gclid


def test_click_91_days_old_is_expired_event(client, services):
    gclid = issue_gclid(services, ago=timedelta(days=91))
    resp = upload(client, [conversion(services, gclid)])
    assert row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "EXPIRED_EVENT"}
    assert entries(services)[0]["events"][0]["attribution"]["status"] == "expired"


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
def test_invalid_row_gets_its_error_code(client, services, changes, code, field):
    row = {**conversion(services, issue_gclid(services)), **changes}
    resp = upload(client, [{k: v for k, v in row.items() if v is not None}])
    assert resp.status_code == 200
    assert resp.json["results"] == [{}]
    [error] = row_errors(resp)
    assert error["errorCode"] == code
    assert error["location"]["fieldPathElements"] == [{"fieldName": "conversions", "index": 0},
                                                       {"fieldName": field}]


def test_conversion_before_its_click_is_conversion_precedes_event(client, services):
    gclid = issue_gclid(services, ago=timedelta(hours=1))
    early = stamp(services.clock.now() - timedelta(hours=2))
    resp = upload(client, [conversion(services, gclid, conversionDateTime=early)])
    assert row_errors(resp)[0]["errorCode"] == {
        "conversionUploadError": "CONVERSION_PRECEDES_EVENT"}


def test_conversion_date_time_without_offset_is_journaled_with_no_event_time(client, services):
    upload(client, [conversion(services, issue_gclid(services),
                               conversionDateTime="2026-11-01 10:00:00")])
    assert entries(services)[0]["events"][0]["event_time"] is None


def test_same_order_id_twice_in_one_request_refuses_both_rows(client, services):
    gclid = issue_gclid(services)
    rows = [conversion(services, gclid),
            conversion(services, gclid, conversionDateTime=stamp(services.clock.now()))]
    resp = upload(client, rows)
    assert resp.json["results"] == [{}, {}]
    assert [e["errorCode"] for e in row_errors(resp)] == [
        {"conversionUploadError": "DUPLICATE_ORDER_ID"}] * 2


def test_order_id_used_by_an_earlier_request_is_order_id_already_in_use(client, services):
    gclid = issue_gclid(services)
    assert "partialFailureError" not in upload(client, [conversion(services, gclid)]).json
    later = conversion(services, gclid, conversionDateTime=stamp(services.clock.now()))
    resp = upload(client, [later])
    [error] = row_errors(resp)
    assert error["errorCode"] == {"conversionUploadError": "ORDER_ID_ALREADY_IN_USE"}
    assert error["location"]["fieldPathElements"][1] == {"fieldName": "order_id"}


def test_order_id_is_per_conversion_action(client, services):
    gclid = issue_gclid(services)
    upload(client, [conversion(services, gclid)])
    other = conversion(services, gclid,
                       conversionAction="customers/1234567890/conversionActions/1")
    assert "partialFailureError" not in upload(client, [other]).json


def test_same_click_and_time_uploaded_again_is_click_conversion_already_exists(client, services):
    gclid = issue_gclid(services)
    row = conversion(services, gclid, orderId=None)
    upload(client, [row])
    resp = upload(client, [row])
    assert row_errors(resp)[0]["errorCode"] == {
        "conversionUploadError": "CLICK_CONVERSION_ALREADY_EXISTS"}


def test_rejected_row_does_not_consume_its_order_id(client, services):
    gclid = issue_gclid(services)
    upload(client, [conversion(services, gclid, conversionDateTime="2026-11-01 10:00:00")])
    assert "partialFailureError" not in upload(client, [conversion(services, gclid)]).json


# --- validateOnly ----------------------------------------------------------------------------

def test_validate_only_answers_without_results_and_records_nothing_as_accepted(client, services):
    gclid = issue_gclid(services)
    resp = upload(client, [conversion(services, gclid)], validateOnly=True)
    assert resp.status_code == 200
    assert resp.json == {}
    assert entries(services)[0]["accepted"] is False
    assert "partialFailureError" not in upload(client, [conversion(services, gclid)]).json


def test_validate_only_still_reports_row_errors(client, services):
    resp = upload(client, [conversion(services, "not a gclid!")], validateOnly=True)
    assert "results" not in resp.json
    assert row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "UNPARSEABLE_GCLID"}


# --- options ---------------------------------------------------------------------------------

def test_too_recent_event_is_reported_only_when_the_option_is_on(client, services):
    gclid = issue_gclid(services, ago=timedelta(hours=1))
    assert "partialFailureError" not in upload(client, [conversion(services, gclid)]).json

    strict = create_app(testing_config(google_check_too_recent=True, start_workers=False))
    try:
        svc = strict.extensions[EXTENSION_KEY]
        recent = issue_gclid(svc, ago=timedelta(hours=1))
        resp = upload(strict.test_client(), [conversion(svc, recent)])
        assert row_errors(resp)[0]["errorCode"] == {"conversionUploadError": "TOO_RECENT_EVENT"}
    finally:
        shutdown(strict)


@pytest.mark.parametrize("path", [
    "/google-ads/latest/customers/1234567890:uploadClickConversions",
    "/google-ads/v18/customers/123-456-7890:uploadClickConversions",
], ids=["bad-version", "dashed-customer-id"])
def test_unroutable_path_is_not_found(client, services, path):
    resp = client.post(path, json={"conversions": [], "partialFailure": True}, headers=AUTH)
    assert resp.status_code == 404
    assert resp.json["error"]["status"] == "NOT_FOUND"
