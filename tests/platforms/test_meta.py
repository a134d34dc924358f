"""The Meta Conversions API mock over raw HTTP: bodies, errors and journal, as platform-rules §2."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

URL = "/meta/v21.0/1234567890/events"
TOKEN = "EAAGtesttoken0123456789"
DAY = 86400


@pytest.fixture
def now(services) -> int:
    return int(services.clock.time())


def make_event(now: int, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": now - 60,
        "event_id": "conv-1",
        "action_source": "website",
        "event_source_url": "https://shop.example/thanks",
        "user_data": {"client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.9"},
        "custom_data": {"value": 12.5, "currency": "USD"},
    }
    event.update(changes)
    return event


def send(client, events: list[Any], token: str | None = TOKEN):
    url = URL + (f"?access_token={token}" if token else "")
    return client.post(url, json={"data": events})


def last_entry(client) -> dict[str, Any]:
    return client.get("/api/journal").json["items"][-1]


def issue_fbclid(client) -> str:
    """An fbclid the mock issued ten minutes ago, so a conversion a minute ago follows it."""
    resp = client.post("/api/ad-clicks", json={"platform": "meta", "ago_seconds": 600})
    return resp.json["click_id"]


def without_trace(body: dict[str, Any]) -> dict[str, Any]:
    err = dict(body["error"])
    assert isinstance(err.pop("fbtrace_id"), str)
    return err


# --- success ---------------------------------------------------------------------------------

def test_valid_event_gets_meta_success_body(client, now):
    resp = send(client, [make_event(now)])
    assert resp.status_code == 200
    assert set(resp.json) == {"events_received", "messages", "fbtrace_id"}
    assert resp.json["events_received"] == 1
    assert resp.json["messages"] == []


@pytest.mark.parametrize("version", ["v21.0", "v18.0", "v26.0", "v9"], ids=str)
def test_any_graph_api_version_is_accepted(client, now, version):
    resp = client.post(f"/meta/{version}/1234567890/events?access_token={TOKEN}",
                       json={"data": [make_event(now)]})
    assert resp.status_code == 200


def test_token_in_json_body_is_accepted(client, now):
    resp = client.post(URL, json={"data": [make_event(now)], "access_token": TOKEN})
    assert resp.status_code == 200


def test_form_encoded_body_with_json_string_items_is_accepted(client, now):
    data = json.dumps([json.dumps(make_event(now)), json.dumps(make_event(now, event_id="c2"))])
    resp = client.post(URL, data={"access_token": TOKEN, "data": data})
    assert resp.status_code == 200
    assert resp.json["events_received"] == 2
    events = last_entry(client)["events"]
    assert [e["event_id"] for e in events] == ["conv-1", "c2"]
    assert events[0]["raw"]["user_data"]["client_user_agent"] == "Mozilla/5.0"


def test_multipart_body_with_object_items_is_accepted(client, now):
    resp = client.post(URL + f"?access_token={TOKEN}",
                       data={"data": json.dumps([make_event(now)]), "test_event_code": "T1"},
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    assert last_entry(client)["events"][0]["event_name"] == "Purchase"


def test_json_body_with_json_string_items_is_accepted(client, now):
    resp = send(client, [json.dumps(make_event(now))])
    assert resp.status_code == 200
    assert last_entry(client)["events"][0]["raw"]["event_id"] == "conv-1"


def test_a_thousand_events_are_accepted(client, now):
    resp = send(client, [make_event(now, event_id=f"c{i}") for i in range(1000)])
    assert resp.status_code == 200
    assert resp.json["events_received"] == 1000


# --- errors ----------------------------------------------------------------------------------

def test_missing_token_gets_code_190(client, now):
    resp = send(client, [make_event(now)], token=None)
    assert resp.status_code == 400
    assert without_trace(resp.json) == {
        "message": "An access token is required to request this resource.",
        "type": "OAuthException",
        "code": 190,
    }


def test_event_older_than_seven_days_gets_timestamp_too_old(client, now):
    resp = send(client, [make_event(now, event_time=now - 7 * DAY - 60)])
    assert resp.status_code == 400
    assert without_trace(resp.json) == {
        "message": "Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 2804003,
        "is_transient": False,
        "error_user_title": "Event Timestamp Too Old",
        "error_user_msg": "The timestamp for this event is too far in the past. Events need to "
        "be sent from your server within 7 days of when they occurred. Enter a timestamp that "
        "has occurred within the last 7 days.",
    }


def test_event_just_inside_seven_days_is_accepted(client, now):
    assert send(client, [make_event(now, event_time=now - 7 * DAY + 60)]).status_code == 200


def _drop(event: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    target = event
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("event_name",), "$['data'][0]['event_name']"),
        (("event_time",), "$['data'][0]['event_time']"),
        (("action_source",), "$['data'][0]['action_source']"),
        (("user_data",), "$['data'][0]['user_data']"),
        (("event_source_url",), "$['data'][0]['event_source_url']"),
        (("user_data", "client_user_agent"), "$['data'][0]['user_data']['client_user_agent']"),
        (("custom_data", "value"), "$['data'][0]['custom_data']['value']"),
        (("custom_data", "currency"), "$['data'][0]['custom_data']['currency']"),
    ],
    ids=lambda v: ".".join(v) if isinstance(v, tuple) else "",
)
def test_missing_required_field_gets_2804019_naming_its_path(client, now, path, expected):
    resp = send(client, [_drop(make_event(now), path)])
    assert resp.status_code == 400
    assert without_trace(resp.json) == {
        "message": "Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_subcode": 2804019,
        "is_transient": False,
        "error_user_title": "Server Side Api Parameter Error",
        "error_user_msg": f"The parameter {expected} is required.",
    }


def test_non_website_event_needs_no_source_url_or_user_agent(client, now):
    event = make_event(now, action_source="system_generated", event_name="Lead")
    del event["event_source_url"]
    event["user_data"] = {"em": hashlib.sha256(b"john_smith@gmail.com").hexdigest()}
    assert send(client, [event]).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action_source": "web"}, "$['data'][0]['action_source']"),
        ({"event_time": "1712248396"}, "$['data'][0]['event_time']"),
        ({"event_time": 1712248396.5}, "$['data'][0]['event_time']"),
        ({"custom_data": {"value": "ten", "currency": "USD"}}, "$['data'][0]['custom_data']"),
    ],
    ids=["bad-action-source", "string-event-time", "fractional-event-time", "bad-value"],
)
def test_invalid_parameter_gets_code_100(client, now, changes, field):
    resp = send(client, [make_event(now, **changes)])
    assert resp.status_code == 400
    err = without_trace(resp.json)
    assert (err["code"], err["message"], err["type"]) == (100, "Invalid parameter",
                                                          "OAuthException")
    assert "error_subcode" not in err
    assert field in err["error_user_msg"]


def test_empty_user_data_is_rejected(client, now):
    resp = send(client, [make_event(now, user_data={}, action_source="other")])
    assert resp.status_code == 400
    assert "$['data'][0]['user_data']" in resp.json["error"]["error_user_msg"]


def test_more_than_a_thousand_events_are_rejected(client, now):
    resp = send(client, [make_event(now, event_id=f"c{i}") for i in range(1001)])
    assert resp.status_code == 400
    err = without_trace(resp.json)
    assert (err["code"], err["type"], err["error_user_title"]) == (100, "OAuthException",
                                                                   "Too Many Events")
    assert last_entry(client)["accepted"] is False


def test_one_invalid_event_rejects_the_whole_request(client, now):
    resp = send(client, [make_event(now), _drop(make_event(now), ("event_time",))])
    assert resp.status_code == 400
    assert "$['data'][1]['event_time']" in resp.json["error"]["error_user_msg"]
    entry = last_entry(client)
    assert entry["accepted"] is False
    assert len(entry["events"]) == 2


@pytest.mark.parametrize(
    "body",
    [{}, {"data": []}, {"data": "not json"}, {"data": {"event_name": "x"}}],
    ids=["no-data", "empty-data", "data-not-json", "data-not-array"],
)
def test_missing_or_malformed_data_gets_code_100(client, body):
    resp = client.post(URL + f"?access_token={TOKEN}", json=body)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == 100
    assert resp.json["error"]["type"] == "OAuthException"


def test_path_without_a_version_is_not_routed(client, now):
    resp = client.post(f"/meta/latest/1234567890/events?access_token={TOKEN}",
                       json={"data": [make_event(now)]})
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == 2500


def test_bearer_authorization_header_carries_the_token(client, now):
    resp = client.post(URL, json={"data": [make_event(now)]},
                       headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status_code == 200
    assert TOKEN not in json.dumps(last_entry(client)["headers"])


def test_non_numeric_pixel_id_gets_unsupported_post_request(client, now):
    resp = client.post(f"/meta/v21.0/my-pixel/events?access_token={TOKEN}",
                       json={"data": [make_event(now)]})
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == 100
    assert resp.json["error"]["error_subcode"] == 33


# --- journal ---------------------------------------------------------------------------------

def test_journal_entry_masks_the_token_and_keeps_the_raw_body(client, now):
    send(client, [make_event(now)])
    entry = last_entry(client)
    assert (entry["platform"], entry["api"], entry["method"]) == ("meta", "capi", "POST")
    assert entry["path"] == URL
    assert entry["query"]["access_token"] != TOKEN
    assert TOKEN not in json.dumps(entry["query"])
    assert json.loads(entry["body"])["data"][0]["event_id"] == "conv-1"
    assert (entry["status"], entry["accepted"]) == (200, True)
    assert entry["response"]["events_received"] == 1


def test_journal_event_holds_the_parsed_fields_and_a_matched_fbclid(client, now):
    fbclid = issue_fbclid(client)
    user = {"client_user_agent": "UA/1", "client_ip_address": "198.51.100.4",
            "fbc": f"fb.1.{(now - 120) * 1000}.{fbclid}"}
    send(client, [make_event(now, user_data=user)])
    event = last_entry(client)["events"][0]
    assert event["index"] == 0
    assert event["field_prefix"] == "data[0]"
    assert (event["event_name"], event["event_time"], event["event_id"]) == (
        "Purchase", now - 60, "conv-1")
    assert (event["value"], event["currency"]) == (12.5, "USD")
    assert event["click_id"] == {"kind": "fbclid", "value": fbclid,
                                 "field": "data[0].user_data.fbc"}
    assert event["user"] == {"ip": "198.51.100.4", "user_agent": "UA/1"}
    assert event["attribution"]["status"] == "matched"
    assert event["attribution"]["issued_click_id"] == fbclid
    assert event["findings"] == []


def test_lower_cased_fbclid_is_recorded_as_modified(client, now):
    fbclid = issue_fbclid(client)
    user = {"client_user_agent": "UA/1", "fbc": f"fb.1.{now * 1000}.{fbclid.lower()}"}
    resp = send(client, [make_event(now, user_data=user)])
    assert resp.status_code == 200
    entry = last_entry(client)
    event = entry["events"][0]
    assert event["attribution"]["status"] == "modified"
    assert event["attribution"]["issued_click_id"] == fbclid
    assert [f["code"] for f in entry["findings"]] == ["fbclid_modified"]


@pytest.mark.parametrize(
    ("fbc", "code"),
    [
        (hashlib.sha256(b"fb.1.1712248396000.IwAR2F4").hexdigest(), "fbc_hashed"),
        ("fb.1.1712248396.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQ", "fbc_creation_time_not_ms"),
        ("IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQ", "fbc_malformed"),
    ],
    ids=["hashed", "seconds", "bare-fbclid"],
)
def test_fbc_problems_are_diagnostics_and_the_request_still_succeeds(client, now, fbc, code):
    resp = send(client, [make_event(now, user_data={"client_user_agent": "UA", "fbc": fbc})])
    assert resp.status_code == 200
    entry = last_entry(client)
    assert entry["accepted"] is True
    assert code in [f["code"] for f in entry["findings"]]
    assert code in [f["code"] for f in entry["events"][0]["findings"]]
    assert entry["findings"][0]["field"] == "data[0].user_data.fbc"


def test_hashed_fbc_yields_no_click_id(client, now):
    fbc = hashlib.sha256(b"x").hexdigest()
    send(client, [make_event(now, user_data={"client_user_agent": "UA", "fbc": fbc})])
    event = last_entry(client)["events"][0]
    assert event["click_id"] is None
    assert event["attribution"]["status"] == "absent"


def test_unhashed_email_is_a_diagnostic(client, now):
    user = {"client_user_agent": "UA", "em": "john_smith@gmail.com"}
    resp = send(client, [make_event(now, user_data=user)])
    assert resp.status_code == 200
    finding = last_entry(client)["findings"][0]
    assert finding["code"] == "pii_unhashed"
    assert finding["field"] == "data[0].user_data.em"
    assert "john_smith" not in finding["message"]


def test_repeated_event_id_is_recorded_as_deduplicated(client, now):
    assert send(client, [make_event(now, event_id="dup-1")]).status_code == 200
    resp = send(client, [make_event(now, event_id="dup-1"), make_event(now, event_id="dup-2"),
                         make_event(now, event_id="dup-2")])
    assert resp.status_code == 200
    events = last_entry(client)["events"]
    assert [[f["code"] for f in e["findings"]] for e in events] == [
        ["event_deduplicated"], [], ["event_deduplicated"]]
    assert "journal entry" in events[0]["findings"][0]["message"]


def test_same_event_id_under_another_event_name_is_not_a_duplicate(client, now):
    send(client, [make_event(now, event_id="e-1")])
    send(client, [make_event(now, event_id="e-1", event_name="Lead")])
    assert last_entry(client)["findings"] == []


def test_unknown_fbclid_is_attributed_as_unknown(client, now):
    user = {"client_user_agent": "UA", "fbc": f"fb.1.{now * 1000}.IwARneverissued123"}
    send(client, [make_event(now, user_data=user)])
    assert last_entry(client)["events"][0]["attribution"]["status"] == "unknown"


def test_rejected_request_is_journaled_with_its_error(client, now):
    resp = send(client, [make_event(now, event_time=now - 30 * DAY)])
    entry = last_entry(client)
    assert (entry["status"], entry["accepted"]) == (400, False)
    assert entry["response"] == resp.json
    assert entry["events"][0]["event_time"] == now - 30 * DAY


# --- faults ----------------------------------------------------------------------------------

def test_injected_500_gets_a_transient_meta_error_then_the_next_request_succeeds(client, now):
    client.post("/api/faults", json={"platform": "meta", "kind": "status", "status": 500})
    first = send(client, [make_event(now)])
    assert first.status_code == 500
    assert without_trace(first.json) == {
        "message": "An unexpected error has occurred. Please retry your request later.",
        "type": "OAuthException",
        "code": 2,
        "is_transient": True,
    }
    assert send(client, [make_event(now)]).status_code == 200
    entries = client.get("/api/journal").json["items"]
    assert [e["fault"] for e in entries] == ["status 500", None]


def test_injected_429_carries_retry_after_and_code_17(client, now):
    client.post("/api/faults",
                json={"platform": "meta", "kind": "status", "status": 429, "retry_after": 3})
    resp = send(client, [make_event(now)])
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "3"
    assert resp.json["error"]["code"] == 17
