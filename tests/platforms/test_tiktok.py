"""The TikTok Events API mock over raw HTTP: answers and request validation (Events 2.0 and 1.0).

Expected bodies follow platform-rules.md section 3: HTTP 200 with a `code` for every answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.services import Services

# -- success -----------------------------------------------------------------------------------


def test_events2_request_is_accepted_with_tiktoks_success_body(
    tiktok, client: FlaskClient, services: Services
) -> None:
    body = tiktok.body2(tiktok.event2(tiktok.now_s(services)))
    response = client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 0, "OK")
    [entry] = tiktok.entries(services)
    assert entry["accepted"] is True
    assert entry["api"] == "events2"
    assert entry["status"] == 200


@pytest.mark.parametrize(
    "path",
    ["/tiktok/open_api/v1.3/event/track/", "/tiktok/open_api/v1.3/event/track",
     "/tiktok/open_api/v1.2/event/track/", "/tiktok/open_api/v2.0/event/track/"],
    ids=["v1.3", "no-trailing-slash", "v1.2", "v2.0"],
)
def test_any_api_version_and_optional_trailing_slash_are_accepted(
    tiktok, client: FlaskClient, services: Services, path: str
) -> None:
    body = tiktok.body2(tiktok.event2(tiktok.now_s(services)))
    response = client.post(path, json=body, headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 0, "OK")


def test_a_path_without_an_api_version_is_not_found(tiktok, client: FlaskClient) -> None:
    response = client.post("/tiktok/open_api/latest/event/track/", json={}, headers=tiktok.TOKEN)
    assert response.status_code == 404


# -- errors ------------------------------------------------------------------------------------


def good(t: Any) -> dict:
    """A valid Events 2.0 body, the base each invalid case changes."""
    return t.body2(t.event2(1_790_000_000))


@pytest.mark.parametrize(
    ("request_for", "code", "message"),
    [
        (lambda t: ({}, good(t)), 40104,
         "Access token is null. Pass it in the Access-Token header."),
        (lambda t: ({"Access-Token": " "}, good(t)), 40104,
         "Access token is null. Pass it in the Access-Token header."),
        (lambda t: ({"Access-Token": "Bearer abc"}, good(t)), 40105,
         "Access token is incorrect or has been revoked."),
        (lambda t: (t.TOKEN, t.without(good(t), "event_source")), 40002,
         "event_source: Missing data for required field."),
        (lambda t: (t.TOKEN, t.with_value(good(t), "website", "event_source")), 40002,
         "event_source: Must be one of: web, app, offline, crm."),
        (lambda t: (t.TOKEN, t.without(good(t), "event_source_id")), 40002,
         "event_source_id: Missing data for required field."),
        (lambda t: (t.TOKEN, t.with_value(good(t), [], "data")), 40002,
         "data: Length must be between 1 and 1000."),
        (lambda t: (t.TOKEN, t.without(good(t), "data", 0, "event_time")), 40002,
         "data[0].event_time: Missing data for required field."),
        (lambda t: (t.TOKEN, t.with_value(good(t), "1790000000", "data", 0, "event_time")), 40002,
         "data[0].event_time: Not a valid integer."),
        (lambda t: (t.TOKEN, t.with_value(good(t), 1790000000.5, "data", 0, "event_time")), 40002,
         "data[0].event_time: Not a valid integer."),
        (lambda t: (t.TOKEN, t.with_value(good(t), 42, "data", 0, "event_id")), 40002,
         "data[0].event_id: Not a valid string."),
        (lambda t: (t.TOKEN, t.with_value(good(t), "12,50", "data", 0, "properties", "value")),
         40002,
         "data[0].properties.value: Not a valid number."),
        (lambda t: (t.TOKEN, t.with_value(good(t), 5, "data", 0, "user", "email")), 40002,
         "data[0].user.email: Not a valid string."),
    ],
    ids=["no-token", "blank-token", "bearer-token", "no-event_source", "bad-event_source",
         "no-event_source_id", "empty-data", "no-event_time", "event_time-string",
         "event_time-float", "event_id-int", "value-not-numeric", "email-int"],
)
def test_invalid_requests_get_tiktoks_error_code_naming_the_field(
    tiktok, client: FlaskClient, services: Services, request_for: Callable[[Any], tuple],
    code: int, message: str
) -> None:
    headers, body = request_for(tiktok)
    response = client.post(tiktok.EVENTS2, json=body, headers=headers)
    tiktok.assert_answer(response, code, message)
    [entry] = tiktok.entries(services)
    assert entry["accepted"] is False
    assert entry["response"]["code"] == code


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json", "body: Invalid JSON."), ("", "body: Invalid JSON."),
     ("[1, 2]", "body: Must be a JSON object.")],
    ids=["not-json", "empty", "array"],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_parameter(
    tiktok, client: FlaskClient, text: str, message: str
) -> None:
    response = client.post(tiktok.EVENTS2, data=text, headers={**tiktok.TOKEN,
                                                        "Content-Type": "application/json"})
    tiktok.assert_answer(response, 40002, message)


def test_one_bad_event_refuses_the_whole_request(
    tiktok, client: FlaskClient, services: Services
) -> None:
    good = tiktok.event2(tiktok.now_s(services))
    bad = tiktok.event2(tiktok.now_s(services), event="")
    response = client.post(tiktok.EVENTS2, json=tiktok.body2(good, bad), headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 40002, "data[1].event: Field may not be empty.")
    [entry] = tiktok.entries(services)
    assert entry["accepted"] is False
    assert [e["index"] for e in entry["events"]] == [0, 1]


@pytest.fixture
def strict_app(tiktok) -> Iterator[Flask]:
    """A simulator that knows which pixel codes and tokens exist."""
    config = testing_config(start_workers=False, extra={
        "tiktok_pixel_codes": [tiktok.PIXEL], "tiktok_access_tokens": ["test-tiktok-token"]})
    application = create_app(config)
    yield application
    shutdown(application)


@pytest.mark.parametrize(
    ("request_for", "message"),
    [(lambda t: (t.EVENTS2, t.body2(t.event2(1_790_000_000), event_source_id="COTHERPIXEL")),
      "event_source_id: No permission to operate pixel code COTHERPIXEL."),
     (lambda t: (t.TRACK, {"pixel_code": "COTHERPIXEL", **t.event1(None)}),
      "pixel_code: No permission to operate pixel code COTHERPIXEL.")],
    ids=["events2", "events1"],
)
def test_a_pixel_code_the_token_cannot_write_gets_no_permission(
    tiktok, strict_app: Flask, request_for: Callable[[Any], tuple], message: str
) -> None:
    path, body = request_for(tiktok)
    response = strict_app.test_client().post(path, json=body, headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 40001, message)


def test_a_token_the_simulator_does_not_know_is_refused_when_tokens_are_configured(
    tiktok, strict_app: Flask,
) -> None:
    response = strict_app.test_client().post(
        tiktok.EVENTS2, json=tiktok.body2(tiktok.event2(1_790_000_000)),
        headers={"Access-Token": "other"})
    tiktok.assert_answer(response, 40105, "Access token is incorrect or has been revoked.")


# -- Events 1.0 --------------------------------------------------------------------------------


def test_events1_single_event_is_accepted_and_read_from_its_context(
    tiktok, client: FlaskClient, services: Services
) -> None:
    click = tiktok.issue_ttclid(services, at=services.clock.now() - timedelta(days=1))
    stamp = services.clock.now().replace(microsecond=0)
    body = {"pixel_code": tiktok.PIXEL, **tiktok.event1(click["click_id"], stamp.isoformat())}
    response = client.post(tiktok.TRACK, json=body, headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 0, "OK")
    [entry] = tiktok.entries(services)
    assert entry["api"] == "events1"
    [event] = entry["events"]
    assert event["event_time"] == stamp.timestamp()
    assert event["field_prefix"] == ""
    assert event["click_id"] == {"kind": "ttclid", "value": click["click_id"],
                                 "field": "context.ad.callback"}
    assert event["user"] == {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"}
    assert (event["value"], event["currency"]) == (9.99, "EUR")
    assert event["attribution"]["status"] == "matched"


def test_events1_batch_is_accepted_with_one_event_per_item(
    tiktok, client: FlaskClient, services: Services
) -> None:
    click = tiktok.issue_ttclid(services, at=services.clock.now() - timedelta(days=1))
    body = {"pixel_code": tiktok.PIXEL,
            "batch": [{"type": "track", **tiktok.event1(None)},
                      {"type": "track", **tiktok.event1(click["click_id"], event_id="conv-2")}]}
    response = client.post(tiktok.BATCH, json=body, headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 0, "OK")
    [entry] = tiktok.entries(services)
    first, second = entry["events"]
    assert first["click_id"] is None
    assert first["attribution"]["status"] == "absent"
    assert second["field_prefix"] == "batch[1]"
    assert second["click_id"]["field"] == "batch[1].context.ad.callback"
    assert second["event_id"] == "conv-2"


@pytest.mark.parametrize(
    ("request_for", "message"),
    [
        (lambda t: (t.TRACK, t.event1("E.C.P.x")), "pixel_code: Missing data for required field."),
        (lambda t: (t.TRACK, {"pixel_code": t.PIXEL, **t.event1("E.C.P.x", "yesterday")}),
         "timestamp: Not a valid datetime."),
        (lambda t: (t.TRACK, {"pixel_code": t.PIXEL, **t.without(t.event1("E.C.P.x"), "event")}),
         "event: Missing data for required field."),
        (lambda t: (t.BATCH, {"pixel_code": t.PIXEL}), "batch: Missing data for required field."),
        (lambda t: (t.BATCH, {"pixel_code": t.PIXEL,
                              "batch": [t.event1("E.C.P.x"), t.event1("E.C.P.x", "1.5.2026")]}),
         "batch[1].timestamp: Not a valid datetime."),
        (lambda t: (t.BATCH, {"pixel_code": t.PIXEL,
                              "batch": [t.with_value(t.event1("E.C.P.x"), 7, "context", "ad",
                                              "callback")]}),
         "batch[0].context.ad.callback: Not a valid string."),
    ],
    ids=["track-no-pixel_code", "track-bad-timestamp", "track-no-event", "batch-no-batch",
         "batch-bad-timestamp", "batch-callback-int"],
)
def test_invalid_events1_requests_get_a_bad_parameter_naming_the_field(
    tiktok, client: FlaskClient, request_for: Callable[[Any], tuple], message: str
) -> None:
    path, body = request_for(tiktok)
    tiktok.assert_answer(client.post(path, json=body, headers=tiktok.TOKEN), 40002, message)


def test_a_throttle_fault_answers_as_tiktok_rate_limits_http_200_with_code_40100(
    tiktok, client: FlaskClient, services: Services
) -> None:
    client.post("/api/faults", json={"platform": "tiktok", "kind": "throttle",
                                     "retry_after": 1})
    body = tiktok.body2(tiktok.event2(tiktok.now_s(services)))

    throttled = client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN)
    after = client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN)

    tiktok.assert_answer(throttled, 40100, "Too many requests. Please retry in some time.")
    assert throttled.headers["Retry-After"] == "1"
    tiktok.assert_answer(after, 0, "OK")
    first, _ = tiktok.entries(services)
    assert (first["accepted"], first["fault"]) == (False, "throttle Retry-After 1")
