"""The TikTok Events API mock's records: attribution, journal entries, findings, faults.

Expected bodies follow platform-rules.md section 3: HTTP 200 with a `code` for every answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import faults
from simulator.services import EXTENSION_KEY, Services

SHA = "a" * 64  # any SHA-256 hex digest


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
    tiktok, client: FlaskClient, services: Services, age_days: int, mangle: Any, status: str
) -> None:
    click = tiktok.issue_ttclid(services, at=services.clock.now() - timedelta(days=age_days))
    sent = mangle(click["click_id"]) if mangle else click["click_id"]
    client.post(tiktok.EVENTS2, json=tiktok.body2(tiktok.event2(tiktok.now_s(services), sent)),
                headers=tiktok.TOKEN)
    [entry] = tiktok.entries(services)
    attribution = entry["events"][0]["attribution"]
    assert attribution["status"] == status
    if status != "unknown":
        assert attribution["issued_click_id"] == click["click_id"]
        assert attribution["ad_click_id"] == click["id"]


def test_an_event_without_a_ttclid_is_attributed_as_absent(
    tiktok, client: FlaskClient, services: Services
) -> None:
    client.post(tiktok.EVENTS2, json=tiktok.body2(tiktok.event2(tiktok.now_s(services), None)),
                headers=tiktok.TOKEN)
    [entry] = tiktok.entries(services)
    assert entry["events"][0]["click_id"] is None
    assert entry["events"][0]["attribution"]["status"] == "absent"


def test_the_click_window_comes_from_the_config(tiktok, ) -> None:
    application = create_app(testing_config(start_workers=False, tiktok_click_window_days=7))
    try:
        svc = application.extensions[EXTENSION_KEY]
        click = tiktok.issue_ttclid(svc, at=svc.clock.now() - timedelta(days=8))
        application.test_client().post(
            tiktok.EVENTS2, json=tiktok.body2(tiktok.event2(tiktok.now_s(svc), click["click_id"])),
            headers=tiktok.TOKEN)
        [entry] = tiktok.entries(svc)
        assert entry["events"][0]["attribution"]["status"] == "expired"
    finally:
        shutdown(application)


# -- journal -----------------------------------------------------------------------------------


def test_the_journal_keeps_the_request_and_a_normalized_event(
    tiktok, client: FlaskClient, services: Services
) -> None:
    click = tiktok.issue_ttclid(services, at=services.clock.now() - timedelta(hours=2))
    event = tiktok.event2(tiktok.now_s(services), click["click_id"])
    body = tiktok.body2(event)
    client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN)
    [entry] = tiktok.entries(services)
    assert entry["platform"] == "tiktok"
    assert entry["method"] == "POST"
    assert entry["path"] == tiktok.EVENTS2
    assert json.loads(entry["body"]) == body
    assert entry["headers"]["Access-Token"] != tiktok.TOKEN["Access-Token"]
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


def _event_codes(tiktok, services: Services) -> list[tuple[str, str]]:
    [entry] = tiktok.entries(services)
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
    tiktok, client: FlaskClient, services: Services, changes: dict, expected: tuple[str, str]
) -> None:
    event = {**tiktok.event2(1_790_000_000), **changes}
    if changes.get("event_id", "") is None:
        del event["event_id"]
    response = client.post(tiktok.EVENTS2, json=tiktok.body2(event), headers=tiktok.TOKEN)
    tiktok.assert_answer(response, 0, "OK")
    assert _event_codes(tiktok, services) == [expected]


def test_a_hashed_events1_callback_is_recorded_as_a_hashed_ttclid(
    tiktok, client: FlaskClient, services: Services
) -> None:
    body = {"pixel_code": tiktok.PIXEL, **tiktok.event1(tiktok.SHA)}
    tiktok.assert_answer(client.post(tiktok.TRACK, json=body, headers=tiktok.TOKEN), 0, "OK")
    assert _event_codes(tiktok, services) == [("hashed_ttclid", "context.ad.callback")]


def test_an_events1_event_without_a_timestamp_is_dated_when_received(
    tiktok, client: FlaskClient, services: Services
) -> None:
    body = {"pixel_code": tiktok.PIXEL, **tiktok.without(tiktok.event1("E.C.P.x"), "timestamp")}
    tiktok.assert_answer(client.post(tiktok.TRACK, json=body, headers=tiktok.TOKEN), 0, "OK")
    [entry] = tiktok.entries(services)
    assert entry["events"][0]["event_time"] == pytest.approx(entry["ts"], abs=5)
    assert _event_codes(tiktok, services) == [("timestamp_missing", "timestamp")]


@pytest.mark.parametrize(
    ("request_for", "fields"),
    [
        (lambda t: (t.TRACK, t.body2(t.event2(1_790_000_000))),
         ["event_source", "event_source_id", "data"]),
        (lambda t: (t.EVENTS2, t.body2({**t.event2(1_790_000_000),
                                         "context": {"ad": {"callback": "E.C.P.x"}}})),
         ["data[0].context.ad.callback"]),
        (lambda t: (t.BATCH, {"pixel_code": t.PIXEL,
                              "batch": [{**t.event1("E.C.P.x"), "user": {"ttclid": "E.C.P.x"}}]}),
         ["batch[0].user.ttclid"]),
        (lambda t: (t.EVENTS2, t.body2({**t.event2(1_790_000_000),
                                         "context": {"ip": "203.0.113.9"}})),
         ["data[0].context"]),
        (lambda t: (t.TRACK, {"pixel_code": t.PIXEL, **t.event1("E.C.P.x"),
                              "event_time": 1_790_000_000}),
         ["event_time"]),
    ],
    ids=["events2-body-at-events1-path", "events1-callback-in-events2-event",
         "events2-ttclid-in-events1-batch", "events1-context-in-events2-event",
         "events2-event_time-in-events1-track"],
)
def test_a_request_mixing_events1_and_events2_shapes_is_recorded(
    tiktok, client: FlaskClient, services: Services, request_for: Callable[[Any], tuple],
    fields: list[str]
) -> None:
    path, body = request_for(tiktok)
    client.post(path, json=body, headers=tiktok.TOKEN)
    [entry] = tiktok.entries(services)
    mixed = [f["field"] for f in entry["findings"] if f["code"] == "mixed_api_shapes"]
    assert mixed == fields


def test_test_event_code_is_recorded_as_test_traffic(
    tiktok, client: FlaskClient, services: Services
) -> None:
    body = tiktok.body2(tiktok.event2(tiktok.now_s(services)), test_event_code="TEST123")
    tiktok.assert_answer(client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN), 0, "OK")
    [entry] = tiktok.entries(services)
    assert [f["code"] for f in entry["findings"]] == ["test_event_code"]


# -- faults ------------------------------------------------------------------------------------


def test_an_injected_500_is_answered_then_the_next_request_succeeds(
    tiktok, client: FlaskClient, services: Services
) -> None:
    faults.add(services.store, services.clock, platform="tiktok", kind="status", status=500)
    body = tiktok.body2(tiktok.event2(tiktok.now_s(services)))
    failed = client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN)
    assert failed.status_code == 500
    assert failed.get_json()["code"] == 50000
    tiktok.assert_answer(client.post(tiktok.EVENTS2, json=body, headers=tiktok.TOKEN), 0, "OK")
    first, second = tiktok.entries(services)
    assert (first["status"], first["accepted"], first["fault"]) == (500, False, "status 500")
    assert (second["status"], second["accepted"], second["fault"]) == (200, True, None)


def test_an_injected_429_carries_retry_after_and_the_rate_limit_code(
    tiktok, client: FlaskClient, services: Services
) -> None:
    faults.add(services.store, services.clock, platform="tiktok", kind="status", status=429,
               retry_after=2)
    response = client.post(tiktok.TRACK, json={"pixel_code": tiktok.PIXEL, **tiktok.event1(None)},
                           headers=tiktok.TOKEN)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    body = response.get_json()
    assert body == {"code": 40100, "message": "Too many requests. Please retry in some time.",
                    "request_id": body["request_id"], "data": {}}
