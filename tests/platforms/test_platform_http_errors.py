"""Issue 10: on a mock's paths, Flask's own errors (404, 405, 413), Content-Encoding bodies and
integers past 2^64 are answered in the platform's shape, never 500, and journaled."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from simulator.platforms import journal

AUTH = {"Access-Token": "tok", "Authorization": "Bearer ya29.tok", "developer-token": "dev"}
BIG = 2**64 + 1
MOCKS = {
    "meta": "/meta/v21.0/123/events?access_token=EAAtest",
    "tiktok": "/tiktok/open_api/v1.3/event/track/",
    "google_ads": "/google-ads/v18/customers/1234567890:uploadClickConversions",
    "datamanager": "/datamanager/v1/events:ingest",
}
UNKNOWN = {
    "meta": "/meta/v21.0/123/nope",
    "tiktok": "/tiktok/open_api/v1.3/nope/",
    "google_ads": "/google-ads/v18/nope",
    "datamanager": "/datamanager/v1/nope",
}


def own_shape(platform: str, body: dict[str, Any]) -> bool:
    """Meta's Graph error, TikTok's envelope, or the Google error model (platform-rules.md)."""
    if platform == "meta":
        return set(body["error"]) >= {"message", "type", "code", "fbtrace_id"}
    if platform == "tiktok":
        return set(body) == {"code", "message", "request_id", "data"} and body["code"] != 0
    return set(body["error"]) >= {"code", "message", "status"}


def only_entry(services: Any) -> dict[str, Any]:
    [entry] = journal.search(services.store)
    return entry


@pytest.mark.parametrize("platform", UNKNOWN)
def test_an_unknown_path_answers_404_in_the_platforms_shape_and_is_journaled(
    client, services, platform
):
    resp = client.post(UNKNOWN[platform], data='{"a": 1}', content_type="application/json")
    assert resp.status_code == 404
    assert own_shape(platform, resp.get_json())
    entry = only_entry(services)
    assert (entry["platform"], entry["status"], entry["body"]) == (platform, 404, '{"a": 1}')
    assert entry["findings"][0]["code"] == "http_404"


@pytest.mark.parametrize("platform", MOCKS)
def test_a_wrong_method_answers_405_with_allow_in_the_platforms_shape(client, services, platform):
    resp = client.get(MOCKS[platform])
    assert resp.status_code == 405
    assert "POST" in resp.headers["Allow"]
    assert own_shape(platform, resp.get_json())
    assert only_entry(services)["method"] == "GET"


@pytest.mark.parametrize("platform", MOCKS)
def test_a_body_over_the_limit_answers_413_in_the_platforms_shape(
    app, client, services, platform
):
    app.config["MAX_CONTENT_LENGTH"] = 64
    resp = client.post(MOCKS[platform], data="x" * 65, content_type="application/json",
                       headers=AUTH)
    assert resp.status_code == 413
    assert own_shape(platform, resp.get_json())
    assert only_entry(services)["status"] == 413


def test_a_tiktok_path_with_a_bad_version_is_journaled_as_events2(client, services):
    resp = client.post("/tiktok/open_api/latest/event/track/", json={}, headers=AUTH)
    assert resp.status_code == 404
    assert only_entry(services)["api"] == "events2"


# -- Content-Encoding ------------------------------------------------------------------------

GOOGLE_BODY = {"conversions": [], "partialFailure": True}


@pytest.mark.parametrize("platform", ["google_ads", "datamanager"])
@pytest.mark.parametrize("coding", ["gzip", "x-gzip"])
def test_google_decodes_a_gzip_body_and_journals_it_decoded(client, services, platform, coding):
    text = json.dumps(GOOGLE_BODY)
    resp = client.post(MOCKS[platform], data=gzip.compress(text.encode()),
                       content_type="application/json",
                       headers={**AUTH, "Content-Encoding": coding})
    # The body was read: Google judges its content (an empty upload or ingest), not its bytes.
    assert resp.status_code == 400
    assert "gzip" not in resp.get_json()["error"]["message"]
    entry = only_entry(services)
    assert entry["body"] == text
    assert entry["headers"]["Content-Encoding"] == coding


@pytest.mark.parametrize("platform", ["google_ads", "datamanager"])
def test_google_refuses_a_body_that_is_not_the_gzip_it_claims(client, services, platform):
    resp = client.post(MOCKS[platform], data=b"{not gzip", content_type="application/json",
                       headers={**AUTH, "Content-Encoding": "gzip"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["status"] == "INVALID_ARGUMENT"
    assert only_entry(services)["status"] == 400


def test_google_refuses_an_unsupported_coding_with_415_and_accept_encoding(client, services):
    resp = client.post(MOCKS["google_ads"], data=b"\x00", content_type="application/json",
                       headers={**AUTH, "Content-Encoding": "br"})
    assert resp.status_code == 415
    assert resp.headers["Accept-Encoding"] == "gzip"
    assert own_shape("google_ads", resp.get_json())
    assert only_entry(services)["status"] == 415


def test_a_gzip_bomb_stops_at_the_size_limit_with_413(app, client, services):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")
    assert len(bomb) < 10_000
    resp = client.post(MOCKS["datamanager"], data=bomb, content_type="application/json",
                       headers={**AUTH, "Content-Encoding": "gzip"})
    assert resp.status_code == 413
    assert resp.get_json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert only_entry(services)["status"] == 413


def test_meta_refuses_a_gzip_body_with_its_code_100(client, services):
    resp = client.post(MOCKS["meta"], data=gzip.compress(b'{"data": []}'),
                       content_type="application/json", headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 100)
    assert "Content-Encoding" in error["message"]
    assert only_entry(services)["accepted"] is False


def test_tiktok_refuses_a_gzip_body_with_http_200_and_40002(client, services):
    resp = client.post(MOCKS["tiktok"], data=gzip.compress(b"{}"),
                       content_type="application/json",
                       headers={**AUTH, "Content-Encoding": "gzip"})
    assert resp.status_code == 200
    assert resp.get_json()["code"] == 40002
    assert only_entry(services)["status"] == 200


# -- Integers past 2^64 ----------------------------------------------------------------------

META_EVENT = {"event_name": "Purchase", "event_time": 1, "action_source": "website",
              "event_source_url": "https://shop.example.com/",
              "user_data": {"client_ip_address": "1.2.3.4", "client_user_agent": "x"},
              "custom_data": {"value": 1, "currency": "USD"}}


def post_json(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers=AUTH)


def test_meta_refuses_an_event_time_past_int64_as_an_invalid_parameter(client, services):
    resp = post_json(client, MOCKS["meta"], {"data": [{**META_EVENT, "event_time": BIG}]})
    assert resp.status_code == 400
    assert "$['data'][0]['event_time']" in resp.get_json()["error"]["error_user_msg"]
    entry = only_entry(services)
    assert entry["events"][0]["raw"]["event_time"] == BIG


def test_meta_takes_a_value_of_2_to_the_64_plus_1_as_the_double_it_is(client, services):
    event = {**META_EVENT, "event_time": int(services.clock.time()),
             "custom_data": {"value": BIG, "currency": "USD"}}
    resp = post_json(client, MOCKS["meta"], {"data": [event]})
    assert resp.status_code == 200
    assert only_entry(services)["accepted"] is True


def test_tiktok_refuses_an_event_time_past_int64_with_40002(client, services, tiktok):
    body = tiktok.body2(tiktok.event2(BIG))
    resp = post_json(client, MOCKS["tiktok"], body)
    tiktok.assert_answer(resp, 40002,
                         "data[0].event_time: Must be less than or equal to 9223372036854775807.")
    assert only_entry(services)["accepted"] is False


def google_row(**changes: Any) -> dict[str, Any]:
    return {"gclid": "x" * 30, "conversionAction": "customers/1234567890/conversionActions/1",
            "conversionDateTime": "2024-01-01 00:00:00+00:00", "conversionValue": 1,
            "currencyCode": "USD", **changes}


def test_google_ads_refuses_a_customer_id_past_int64(client, services):
    url = f"/google-ads/v18/customers/{BIG}:uploadClickConversions"
    action = f"customers/{BIG}/conversionActions/1"
    resp = post_json(client, url, {"conversions": [google_row(conversionAction=action)],
                                   "partialFailure": True})
    assert resp.status_code == 400
    [failure] = resp.get_json()["error"]["details"]
    assert failure["errors"][0]["errorCode"] == {"requestError": "INVALID_CUSTOMER_ID"}
    assert only_entry(services)["status"] == 400


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"jobId": BIG}, f"Invalid value at 'job_id' (TYPE_INT32), {BIG}"),
     ({"conversions": [google_row(cartData={"merchantId": BIG})]},
      f"Invalid value at 'conversions[0].cart_data.merchant_id' (TYPE_INT64), {BIG}"),
     ({"conversions": [google_row(conversionEnvironment=BIG)]},
      f"Invalid value at 'conversions[0].conversion_environment' (TYPE_ENUM), {BIG}")],
    ids=["job-id-int32", "merchant-id-int64", "enum-number"],
)
def test_google_ads_refuses_integers_out_of_their_protobuf_range(client, services, changes,
                                                                  message):
    body = {"conversions": [google_row()], "partialFailure": True, **changes}
    resp = post_json(client, MOCKS["google_ads"], body)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == f"Invalid JSON payload received. {message}"
    assert only_entry(services)["status"] == 400


def test_google_ads_reads_a_conversion_action_id_past_int64_as_a_malformed_name(client, services):
    action = f"customers/1234567890/conversionActions/{BIG}"
    resp = post_json(client, MOCKS["google_ads"],
                     {"conversions": [google_row(conversionAction=action)],
                      "partialFailure": True})
    assert resp.status_code == 200
    [error] = resp.get_json()["partialFailureError"]["details"][0]["errors"]
    assert error["errorCode"] == {"requestError": "RESOURCE_NAME_MALFORMED"}
