"""Property tests of each mock's parser with hostile JSON (issue 10): a valid request with some
of its values swapped for hostile ones (lone surrogates, huge or non-finite numbers, deep
nesting, wrong types, control characters) is answered in the platform's own shape, never with a
5xx, and journaled verbatim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.clock import ManualClock
from simulator.platforms import journal

AUTH = {"Access-Token": "tok", "Authorization": "Bearer ya29.tok", "developer-token": "dev"}
CLOCK_START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NOW = int(CLOCK_START.timestamp()) - 300  # five minutes before the app's fixed clock
META_EVENT = {
    "event_name": "Purchase", "event_time": NOW, "event_id": "conv-1",
    "action_source": "website", "event_source_url": "https://shop.example.com/thanks",
    "user_data": {"fbc": f"fb.1.{NOW * 1000}.IwAR2xFake", "client_ip_address": "203.0.113.7",
                  "client_user_agent": "Mozilla/5.0", "em": ["a" * 64]},
    "custom_data": {"value": 12.5, "currency": "USD"},
}
TIKTOK_EVENT2 = {
    "event": "CompletePayment", "event_time": NOW, "event_id": "conv-1",
    "user": {"ttclid": "E.C.P.x", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
    "properties": {"value": 12.5, "currency": "USD"}, "page": {"url": "https://shop.example/"},
}
TIKTOK_EVENT1 = {
    "event": "CompletePayment", "event_id": "conv-1", "timestamp": "2026-11-01T11:55:00Z",
    "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "ad": {"callback": "E.C.P.x"},
                "page": {"url": "https://shop.example.com/"}},
    "properties": {"value": 9.99, "currency": "EUR"},
}
GOOGLE_ROW = {
    "gclid": "Cj0KCQ-x", "conversionAction": "customers/1234567890/conversionActions/987654321",
    "conversionDateTime": "2026-11-01 11:55:00+00:00", "conversionValue": 12.5,
    "currencyCode": "USD", "orderId": "conv-1",
}
DM_EVENT = {
    "transactionId": "conv-1", "eventTimestamp": "2026-11-01T11:55:00Z",
    "adIdentifiers": {"gclid": "Cj0KCQ-x"}, "conversionValue": 12.5, "currency": "USD",
    "eventSource": "WEB",
}
# (URL, a valid body to corrupt) per mock endpoint.
MOCKS = {
    "meta": ("/meta/v21.0/123/events?access_token=EAAtest", {"data": [META_EVENT]}),
    "tiktok-events2": ("/tiktok/open_api/v1.3/event/track/",
                       {"event_source": "web", "event_source_id": "CTEST",
                        "data": [TIKTOK_EVENT2]}),
    "tiktok-track": ("/tiktok/open_api/v1.3/pixel/track/",
                     {"pixel_code": "CTEST", **TIKTOK_EVENT1}),
    "tiktok-batch": ("/tiktok/open_api/v1.3/pixel/batch/",
                     {"pixel_code": "CTEST", "batch": [TIKTOK_EVENT1]}),
    "google-ads": ("/google-ads/v18/customers/1234567890:uploadClickConversions",
                   {"conversions": [GOOGLE_ROW], "partialFailure": True}),
    "datamanager": ("/datamanager/v1/events:ingest",
                    {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS",
                                                            "accountId": "1234567890"},
                                       "productDestinationId": "987654321"}],
                     "events": [DM_EVENT]}),
}

# Every code point, lone surrogates included (hypothesis leaves category Cs out by default).
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
HOSTILE_SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**64 + 1, -(2**63) - 1, 10**300, 0, -1]),
    st.floats(),  # NaN and +-Infinity are written as the bare tokens json.dumps emits
    st.sampled_from([1e308, -1e-308, 5e-324]),
    st.text(ANY_CHAR, max_size=20),
    st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "x" * 5000, "1e400", "NaN"]),
)
HOSTILE = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(ANY_CHAR, max_size=8),
                                                                 inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into a JSON value (the root included)."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


def replaced(value: Any, path: tuple, new: Any) -> Any:
    """A copy with the value at `path` swapped; unchanged when an earlier swap removed it."""
    if not path:
        return new
    head, *rest = path
    reachable = (isinstance(value, dict) and head in value) or (
        isinstance(value, list) and isinstance(head, int) and head < len(value))
    if not reachable:
        return value
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = replaced(value[head], tuple(rest), new)
    return copy


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def hostile_body(draw: Any, valid: dict[str, Any]) -> str:
    """The valid body with one to three values swapped for hostile ones, as JSON text."""
    body: Any = valid
    where = draw(st.lists(st.sampled_from(list(paths(valid))), min_size=1, max_size=3))
    for path in where:
        new = draw(HOSTILE | st.builds(nested, st.sampled_from([99, 101, 900])))
        body = replaced(body, path, new)
    return json.dumps(body)


def in_own_shape(mock: str, resp: Any) -> bool:
    """Each platform's answer (platform-rules.md sections 2-5)."""
    body = resp.get_json()
    if mock == "meta":
        return (resp.status_code == 200 and "events_received" in body) or (
            400 <= resp.status_code < 500 and body["error"]["type"] == "OAuthException")
    if mock.startswith("tiktok"):
        return resp.status_code == 200 and isinstance(body["code"], int)
    if resp.status_code == 200:
        return isinstance(body, dict) and "error" not in body
    return 400 <= resp.status_code < 500 and isinstance(body["error"]["status"], str)


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    application = create_app(testing_config(start_workers=False),
                             clock=ManualClock(CLOCK_START))
    yield application
    shutdown(application)


@pytest.mark.parametrize("mock", MOCKS)
def test_a_hostile_value_anywhere_is_answered_in_the_platforms_shape(app, mock):
    url, valid = MOCKS[mock]
    client = app.test_client()
    store = app.extensions["postback_sim"].store

    @seed(20260410)
    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(text=hostile_body(valid))
    def check(text: str) -> None:
        last = store.query_one("SELECT COALESCE(MAX(id), 0) AS id FROM journal")["id"]
        resp = client.post(url, data=text, content_type="application/json", headers=AUTH)
        assert resp.status_code < 500, resp.get_data(as_text=True)
        assert in_own_shape(mock, resp), resp.get_data(as_text=True)
        [entry] = journal.search(store, after_id=last)
        assert entry["body"] == text
        assert entry["status"] == resp.status_code

    check()
