"""The TikTok Events API mock over raw HTTP: answers, validation, attribution, journal, faults.

Expected bodies follow platform-rules.md section 3: HTTP 200 with a `code` for every answer.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import clickids, faults, journal
from simulator.services import EXTENSION_KEY, Services

EVENTS2 = "/tiktok/open_api/v1.3/event/track/"
TRACK = "/tiktok/open_api/v1.3/pixel/track/"
BATCH = "/tiktok/open_api/v1.3/pixel/batch/"
TOKEN = {"Access-Token": "test-tiktok-token"}
PIXEL = "CTESTPIXEL123"
SHA = "a" * 64
REQUEST_ID = re.compile(r"\d{14}[0-9A-F]{18}")


def issue_ttclid(services: Services, **kwargs: Any) -> dict[str, Any]:
    return clickids.issue(services.store, services.clock, random.Random(1), "tiktok", **kwargs)


def now_s(services: Services) -> int:
    return int(services.clock.time()) + 1


def event2(event_time: int, ttclid: str | None = "E.C.P.unknown", **changes: Any) -> dict:
    event: dict[str, Any] = {
        "event": "CompletePayment",
        "event_time": event_time,
        "event_id": "conv-1",
        "user": {"ttclid": ttclid, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
                 "email": SHA, "external_id": [SHA, SHA]},
        "properties": {"value": 12.5, "currency": "USD"},
        "page": {"url": "https://shop.example.com/"},
    }
    if ttclid is None:
        del event["user"]["ttclid"]
    return {**event, **changes}


def body2(*events: dict, **changes: Any) -> dict:
    return {"event_source": "web", "event_source_id": PIXEL, "data": list(events), **changes}


def event1(callback: str | None, timestamp: str = "2026-11-01T12:00:00Z", **changes: Any) -> dict:
    context: dict[str, Any] = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
                               "page": {"url": "https://shop.example.com/"},
                               "user": {"email": SHA}}
    if callback is not None:
        context["ad"] = {"callback": callback}
    return {"event": "CompletePayment", "event_id": "conv-1", "timestamp": timestamp,
            "context": context, "properties": {"value": 9.99, "currency": "EUR"}, **changes}


def entries(services: Services) -> list[dict[str, Any]]:
    return journal.search(services.store, platform="tiktok")


def assert_answer(response: Any, code: int, message: str) -> None:
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"code": code, "message": message, "request_id": body["request_id"],
                    "data": {}}
    assert REQUEST_ID.fullmatch(body["request_id"])


# -- success -----------------------------------------------------------------------------------


def test_events2_request_is_accepted_with_tiktoks_success_body(
    client: FlaskClient, services: Services
) -> None:
    response = client.post(EVENTS2, json=body2(event2(now_s(services))), headers=TOKEN)
    assert_answer(response, 0, "OK")
    [entry] = entries(services)
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
    client: FlaskClient, services: Services, path: str
) -> None:
    response = client.post(path, json=body2(event2(now_s(services))), headers=TOKEN)
    assert_answer(response, 0, "OK")


def test_a_path_without_an_api_version_is_not_found(client: FlaskClient) -> None:
    response = client.post("/tiktok/open_api/latest/event/track/", json={}, headers=TOKEN)
    assert response.status_code == 404


# -- errors ------------------------------------------------------------------------------------


def _without(body: dict, *path: Any) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def _with(body: dict, value: Any, *path: Any) -> dict:
    body = json.loads(json.dumps(body))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


GOOD = body2(event2(1_790_000_000))


@pytest.mark.parametrize(
    ("headers", "body", "code", "message"),
    [
        ({}, GOOD, 40104, "Access token is null. Pass it in the Access-Token header."),
        ({"Access-Token": " "}, GOOD, 40104,
         "Access token is null. Pass it in the Access-Token header."),
        ({"Access-Token": "Bearer abc"}, GOOD, 40105,
         "Access token is incorrect or has been revoked."),
        (TOKEN, _without(GOOD, "event_source"), 40002,
         "event_source: Missing data for required field."),
        (TOKEN, _with(GOOD, "website", "event_source"), 40002,
         "event_source: Must be one of: web, app, offline, crm."),
        (TOKEN, _without(GOOD, "event_source_id"), 40002,
         "event_source_id: Missing data for required field."),
        (TOKEN, _with(GOOD, [], "data"), 40002, "data: Length must be between 1 and 1000."),
        (TOKEN, _without(GOOD, "data", 0, "event_time"), 40002,
         "data[0].event_time: Missing data for required field."),
        (TOKEN, _with(GOOD, "1790000000", "data", 0, "event_time"), 40002,
         "data[0].event_time: Not a valid integer."),
        (TOKEN, _with(GOOD, 1790000000.5, "data", 0, "event_time"), 40002,
         "data[0].event_time: Not a valid integer."),
        (TOKEN, _with(GOOD, 42, "data", 0, "event_id"), 40002,
         "data[0].event_id: Not a valid string."),
        (TOKEN, _with(GOOD, "12,50", "data", 0, "properties", "value"), 40002,
         "data[0].properties.value: Not a valid number."),
        (TOKEN, _with(GOOD, 5, "data", 0, "user", "email"), 40002,
         "data[0].user.email: Not a valid string."),
    ],
    ids=["no-token", "blank-token", "bearer-token", "no-event_source", "bad-event_source",
         "no-event_source_id", "empty-data", "no-event_time", "event_time-string",
         "event_time-float", "event_id-int", "value-not-numeric", "email-int"],
)
def test_invalid_requests_get_tiktoks_error_code_naming_the_field(
    client: FlaskClient, services: Services, headers: dict, body: dict, code: int, message: str
) -> None:
    response = client.post(EVENTS2, json=body, headers=headers)
    assert_answer(response, code, message)
    [entry] = entries(services)
    assert entry["accepted"] is False
    assert entry["response"]["code"] == code


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json", "body: Invalid JSON."), ("", "body: Invalid JSON."),
     ("[1, 2]", "body: Must be a JSON object.")],
    ids=["not-json", "empty", "array"],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_parameter(
    client: FlaskClient, text: str, message: str
) -> None:
    response = client.post(EVENTS2, data=text, headers={**TOKEN,
                                                        "Content-Type": "application/json"})
    assert_answer(response, 40002, message)


def test_one_bad_event_refuses_the_whole_request(client: FlaskClient, services: Services) -> None:
    good = event2(now_s(services))
    bad = event2(now_s(services), event="")
    response = client.post(EVENTS2, json=body2(good, bad), headers=TOKEN)
    assert_answer(response, 40002, "data[1].event: Field may not be empty.")
    [entry] = entries(services)
    assert entry["accepted"] is False
    assert [e["index"] for e in entry["events"]] == [0, 1]


@pytest.fixture
def strict_app() -> Iterator[Flask]:
    """A simulator that knows which pixel codes and tokens exist."""
    config = testing_config(start_workers=False, extra={
        "tiktok_pixel_codes": [PIXEL], "tiktok_access_tokens": ["test-tiktok-token"]})
    application = create_app(config)
    yield application
    shutdown(application)


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [(EVENTS2, body2(event2(1_790_000_000), event_source_id="COTHERPIXEL"),
      "event_source_id: No permission to operate pixel code COTHERPIXEL."),
     (TRACK, {"pixel_code": "COTHERPIXEL", **event1(None)},
      "pixel_code: No permission to operate pixel code COTHERPIXEL.")],
    ids=["events2", "events1"],
)
def test_a_pixel_code_the_token_cannot_write_gets_no_permission(
    strict_app: Flask, path: str, body: dict, message: str
) -> None:
    response = strict_app.test_client().post(path, json=body, headers=TOKEN)
    assert_answer(response, 40001, message)


def test_a_token_the_simulator_does_not_know_is_refused_when_tokens_are_configured(
    strict_app: Flask,
) -> None:
    response = strict_app.test_client().post(
        EVENTS2, json=body2(event2(1_790_000_000)), headers={"Access-Token": "other"})
    assert_answer(response, 40105, "Access token is incorrect or has been revoked.")


# -- Events 1.0 --------------------------------------------------------------------------------


def test_events1_single_event_is_accepted_and_read_from_its_context(
    client: FlaskClient, services: Services
) -> None:
    click = issue_ttclid(services, at=services.clock.now() - timedelta(days=1))
    stamp = services.clock.now().replace(microsecond=0)
    body = {"pixel_code": PIXEL, **event1(click["click_id"], stamp.isoformat())}
    response = client.post(TRACK, json=body, headers=TOKEN)
    assert_answer(response, 0, "OK")
    [entry] = entries(services)
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
    client: FlaskClient, services: Services
) -> None:
    click = issue_ttclid(services, at=services.clock.now() - timedelta(days=1))
    body = {"pixel_code": PIXEL,
            "batch": [{"type": "track", **event1(None)},
                      {"type": "track", **event1(click["click_id"], event_id="conv-2")}]}
    response = client.post(BATCH, json=body, headers=TOKEN)
    assert_answer(response, 0, "OK")
    [entry] = entries(services)
    first, second = entry["events"]
    assert first["click_id"] is None
    assert first["attribution"]["status"] == "absent"
    assert second["field_prefix"] == "batch[1]"
    assert second["click_id"]["field"] == "batch[1].context.ad.callback"
    assert second["event_id"] == "conv-2"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (TRACK, event1("E.C.P.x"), "pixel_code: Missing data for required field."),
        (TRACK, {"pixel_code": PIXEL, **event1("E.C.P.x", "yesterday")},
         "timestamp: Not a valid datetime."),
        (TRACK, {"pixel_code": PIXEL, **_without(event1("E.C.P.x"), "event")},
         "event: Missing data for required field."),
        (BATCH, {"pixel_code": PIXEL}, "batch: Missing data for required field."),
        (BATCH, {"pixel_code": PIXEL, "batch": [event1("E.C.P.x"), event1("E.C.P.x", "1.5.2026")]},
         "batch[1].timestamp: Not a valid datetime."),
        (BATCH, {"pixel_code": PIXEL, "batch": [_with(event1("E.C.P.x"), 7, "context", "ad",
                                                      "callback")]},
         "batch[0].context.ad.callback: Not a valid string."),
    ],
    ids=["track-no-pixel_code", "track-bad-timestamp", "track-no-event", "batch-no-batch",
         "batch-bad-timestamp", "batch-callback-int"],
)
def test_invalid_events1_requests_get_a_bad_parameter_naming_the_field(
    client: FlaskClient, path: str, body: dict, message: str
) -> None:
    assert_answer(client.post(path, json=body, headers=TOKEN), 40002, message)


# -- attribution -------------------------------------------------------------------------------


def _flip_one_letter(value: str) -> str:
    index = next(i for i, ch in enumerate(value) if i > 6 and ch.isalpha())
    return value[:index] + value[index].swapcase() + value[index + 1:]


@pytest.mark.parametrize(
    ("age_days", "mangle", "status"),
    [
        (1, None, "matched"),
        (29, None, "matched"),
        (31, None, "expired"),
        (1, _flip_one_letter, "modified"),
        (1, lambda v: v[:-10], "modified"),
        (1, lambda v: "E.C.P.neverissued", "unknown"),
    ],
    ids=["fresh", "29-days", "31-days", "case-changed", "truncated", "never-issued"],
)
def test_a_ttclid_is_attributed_to_the_click_the_simulator_issued(
    client: FlaskClient, services: Services, age_days: int, mangle: Any, status: str
) -> None:
    click = issue_ttclid(services, at=services.clock.now() - timedelta(days=age_days))
    sent = mangle(click["click_id"]) if mangle else click["click_id"]
    client.post(EVENTS2, json=body2(event2(now_s(services), sent)), headers=TOKEN)
    [entry] = entries(services)
    attribution = entry["events"][0]["attribution"]
    assert attribution["status"] == status
    if status != "unknown":
        assert attribution["issued_click_id"] == click["click_id"]
        assert attribution["ad_click_id"] == click["id"]


def test_an_event_without_a_ttclid_is_attributed_as_absent(
    client: FlaskClient, services: Services
) -> None:
    client.post(EVENTS2, json=body2(event2(now_s(services), None)), headers=TOKEN)
    [entry] = entries(services)
    assert entry["events"][0]["click_id"] is None
    assert entry["events"][0]["attribution"]["status"] == "absent"


def test_the_click_window_comes_from_the_config() -> None:
    application = create_app(testing_config(start_workers=False, tiktok_click_window_days=7))
    try:
        svc = application.extensions[EXTENSION_KEY]
        click = issue_ttclid(svc, at=svc.clock.now() - timedelta(days=8))
        application.test_client().post(
            EVENTS2, json=body2(event2(now_s(svc), click["click_id"])), headers=TOKEN)
        [entry] = entries(svc)
        assert entry["events"][0]["attribution"]["status"] == "expired"
    finally:
        shutdown(application)


# -- journal -----------------------------------------------------------------------------------


def test_the_journal_keeps_the_request_and_a_normalized_event(
    client: FlaskClient, services: Services
) -> None:
    click = issue_ttclid(services, at=services.clock.now() - timedelta(hours=2))
    event = event2(now_s(services), click["click_id"])
    body = body2(event)
    client.post(EVENTS2, json=body, headers=TOKEN)
    [entry] = entries(services)
    assert entry["platform"] == "tiktok"
    assert entry["method"] == "POST"
    assert entry["path"] == EVENTS2
    assert json.loads(entry["body"]) == body
    assert entry["headers"]["Access-Token"] != TOKEN["Access-Token"]
    assert entry["findings"] == []
    assert entry["events"] == [{
        "index": 0,
        "event_name": "CompletePayment",
        "event_time": event["event_time"],
        "event_id": "conv-1",
        "value": 12.5,
        "currency": "USD",
        "click_id": {"kind": "ttclid", "value": click["click_id"],
                     "field": "data[0].user.ttclid"},
        "user": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        "raw": event,
        "field_prefix": "data[0]",
        "attribution": {"status": "matched", "ad_click_id": click["id"],
                        "issued_click_id": click["click_id"],
                        "detail": "ttclid issued by the simulator"},
        "findings": [],
    }]


# -- findings ----------------------------------------------------------------------------------


def _event_codes(services: Services) -> list[tuple[str, str]]:
    [entry] = entries(services)
    return [(f["code"], f["field"]) for e in entry["events"] for f in e["findings"]]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"user": {"ttclid": SHA}}, ("hashed_ttclid", "data[0].user.ttclid")),
        ({"user": {"ip": SHA.upper()}}, ("hashed_ip", "data[0].user.ip")),
        ({"user": {"email": "buyer@example.com"}}, ("unhashed_email", "data[0].user.email")),
        ({"user": {"external_id": [SHA, "42"]}},
         ("unhashed_external_id", "data[0].user.external_id")),
        ({"event_time": 1_790_000_000_000}, ("event_time_ms", "data[0].event_time")),
        ({"properties": {"value": "12.50", "currency": "USD"}},
         ("value_not_number", "data[0].properties.value")),
        ({"properties": {"value": 1, "currency": "usd"}},
         ("currency_invalid", "data[0].properties.currency")),
        ({"event_id": None}, ("event_id_missing", "data[0].event_id")),
    ],
    ids=["hashed-ttclid", "hashed-ip", "unhashed-email", "unhashed-external_id",
         "event_time-ms", "value-string", "currency-lowercase", "no-event_id"],
)
def test_diagnostics_tiktok_reports_later_are_recorded_without_failing(
    client: FlaskClient, services: Services, changes: dict, expected: tuple[str, str]
) -> None:
    event = {**event2(1_790_000_000), **changes}
    if changes.get("event_id", "") is None:
        del event["event_id"]
    response = client.post(EVENTS2, json=body2(event), headers=TOKEN)
    assert_answer(response, 0, "OK")
    assert _event_codes(services) == [expected]


def test_a_hashed_events1_callback_is_recorded_as_a_hashed_ttclid(
    client: FlaskClient, services: Services
) -> None:
    body = {"pixel_code": PIXEL, **event1(SHA)}
    assert_answer(client.post(TRACK, json=body, headers=TOKEN), 0, "OK")
    assert _event_codes(services) == [("hashed_ttclid", "context.ad.callback")]


def test_an_events1_event_without_a_timestamp_is_dated_when_received(
    client: FlaskClient, services: Services
) -> None:
    body = {"pixel_code": PIXEL, **_without(event1("E.C.P.x"), "timestamp")}
    assert_answer(client.post(TRACK, json=body, headers=TOKEN), 0, "OK")
    [entry] = entries(services)
    assert entry["events"][0]["event_time"] == pytest.approx(entry["ts"], abs=5)
    assert _event_codes(services) == [("timestamp_missing", "timestamp")]


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        (TRACK, body2(event2(1_790_000_000)),
         ["event_source", "event_source_id", "data"]),
        (EVENTS2, body2({**event2(1_790_000_000), "context": {"ad": {"callback": "E.C.P.x"}}}),
         ["data[0].context.ad.callback"]),
        (BATCH, {"pixel_code": PIXEL,
                 "batch": [{**event1("E.C.P.x"), "user": {"ttclid": "E.C.P.x"}}]},
         ["batch[0].user.ttclid"]),
        (EVENTS2, body2({**event2(1_790_000_000), "context": {"ip": "203.0.113.9"}}),
         ["data[0].context"]),
        (TRACK, {"pixel_code": PIXEL, **event1("E.C.P.x"), "event_time": 1_790_000_000},
         ["event_time"]),
    ],
    ids=["events2-body-at-events1-path", "events1-callback-in-events2-event",
         "events2-ttclid-in-events1-batch", "events1-context-in-events2-event",
         "events2-event_time-in-events1-track"],
)
def test_a_request_mixing_events1_and_events2_shapes_is_recorded(
    client: FlaskClient, services: Services, path: str, body: dict, fields: list[str]
) -> None:
    client.post(path, json=body, headers=TOKEN)
    [entry] = entries(services)
    mixed = [f["field"] for f in entry["findings"] if f["code"] == "mixed_api_shapes"]
    assert mixed == fields


def test_test_event_code_is_recorded_as_test_traffic(
    client: FlaskClient, services: Services
) -> None:
    body = body2(event2(now_s(services)), test_event_code="TEST123")
    assert_answer(client.post(EVENTS2, json=body, headers=TOKEN), 0, "OK")
    [entry] = entries(services)
    assert [f["code"] for f in entry["findings"]] == ["test_event_code"]


# -- faults ------------------------------------------------------------------------------------


def test_an_injected_500_is_answered_then_the_next_request_succeeds(
    client: FlaskClient, services: Services
) -> None:
    faults.add(services.store, services.clock, platform="tiktok", kind="status", status=500)
    body = body2(event2(now_s(services)))
    failed = client.post(EVENTS2, json=body, headers=TOKEN)
    assert failed.status_code == 500
    assert failed.get_json()["code"] == 50000
    assert_answer(client.post(EVENTS2, json=body, headers=TOKEN), 0, "OK")
    first, second = entries(services)
    assert (first["status"], first["accepted"], first["fault"]) == (500, False, "status 500")
    assert (second["status"], second["accepted"], second["fault"]) == (200, True, None)


def test_an_injected_429_carries_retry_after_and_the_rate_limit_code(
    client: FlaskClient, services: Services
) -> None:
    faults.add(services.store, services.clock, platform="tiktok", kind="status", status=429,
               retry_after=2)
    response = client.post(TRACK, json={"pixel_code": PIXEL, **event1(None)}, headers=TOKEN)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    body = response.get_json()
    assert body == {"code": 40100, "message": "Too many requests. Please retry in some time.",
                    "request_id": body["request_id"], "data": {}}
