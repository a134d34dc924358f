"""Hostile JSON (issue 10): every mock answers in its own error shape and journals the request,
never a 500: lone surrogates, deep nesting, huge integers, NaN, Infinity and 1e400."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.platforms import journal

AUTH = {"Access-Token": "tok", "Authorization": "Bearer ya29.tok", "developer-token": "dev"}
MOCKS = {
    "meta": "/meta/v21.0/123/events?access_token=EAAtest",
    "tiktok-events2": "/tiktok/open_api/v1.3/event/track/",
    "tiktok-track": "/tiktok/open_api/v1.3/pixel/track/",
    "tiktok-batch": "/tiktok/open_api/v1.3/pixel/batch/",
    "google-ads": "/google-ads/v18/customers/1234567890:uploadClickConversions",
    "datamanager": "/datamanager/v1/events:ingest",
}


def refused_in_own_shape(mock: str, resp: Any) -> bool:
    """True when the answer is the platform's own refusal (platform-rules.md sections 2-5)."""
    body = resp.get_json()
    if mock == "meta":
        return resp.status_code == 400 and body["error"]["type"] == "OAuthException"
    if mock.startswith("tiktok"):
        return resp.status_code == 200 and body["code"] == 40002
    return resp.status_code == 400 and body["error"]["status"] == "INVALID_ARGUMENT"


def post(client: Any, mock: str, text: str) -> Any:
    return client.post(MOCKS[mock], data=text, content_type="application/json", headers=AUTH)


META_EVENT = {"event_name": "Purchase", "event_time": 1, "action_source": "website",
              "user_data": {"client_ip_address": "1.2.3.4", "client_user_agent": "x"}}
HOSTILE = {
    "lone-surrogate": '{"data": [{"currency": "\\ud800"}], "event": "\\udfff"}',
    "deep-nesting": '{"data": ' + "[" * 5000 + "]" * 5000 + "}",
    "deep-value": '{"data": [{"value": ' + "[" * 900 + "]" * 900 + "}]}",
    "5000-digit-integer": '{"data": ' + "9" * 5000 + "}",
    "nan": '{"data": [{"value": NaN}]}',
    "infinity": '{"data": [{"value": -Infinity}]}',
    "1e400": '{"data": [{"value": 1e400}]}',
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("mock", MOCKS)
def test_a_hostile_body_is_refused_in_the_platforms_shape_and_journaled(
    client, services, mock, text
):
    resp = post(client, mock, text)
    assert refused_in_own_shape(mock, resp), resp.get_data(as_text=True)
    [entry] = journal.search(services.store)
    assert entry["status"] == resp.status_code
    assert entry["body"] == text
    assert entry["accepted"] is False


def test_a_lone_surrogate_inside_a_meta_event_is_journaled_and_echoed_safely(client, services):
    event = {**META_EVENT, "custom_data": {"currency": "\ud800", "value": 1}}
    text = json.dumps({"data": [event]})
    resp = post(client, "meta", text)
    assert resp.status_code == 400
    [entry] = journal.search(services.store)
    assert entry["events"][0]["raw"]["custom_data"]["currency"] == "\ud800"
    assert client.get(f"/api/journal/{entry['id']}").status_code == 200


def test_a_google_conversion_value_nested_900_deep_is_refused_as_google_would(client):
    row = {"gclid": "x", "conversionAction": "customers/1234567890/conversionActions/1",
           "conversionDateTime": "2024-01-01 00:00:00+00:00",
           "conversionValue": json.loads("[" * 900 + "]" * 900)}
    resp = client.post(MOCKS["google-ads"], json={"conversions": [row], "partialFailure": True},
                       headers=AUTH)
    assert refused_in_own_shape("google-ads", resp)
    assert "100 levels" in resp.json["error"]["message"]


@pytest.mark.parametrize("pixel_id", ["①②", "³", "١٢٣"], ids=["circled", "superscript", "arabic"])
def test_a_meta_pixel_id_of_non_ascii_digits_names_no_object(client, pixel_id):
    resp = client.post(f"/meta/v21.0/{pixel_id}/events?access_token=EAAtest",
                       json={"data": [META_EVENT]})
    assert resp.status_code == 400
    assert resp.json["error"]["error_subcode"] == 33
