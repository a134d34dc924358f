"""The mock platforms' JSON API: ad clicks, the journal (filters and wait), fault injection."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime

import jsonschema
import pytest
import requests

from simulator.clock import ManualClock
from simulator.platforms import journal

META_URL = "/meta/v21.0/1234567890/events?access_token=EAAGtoken0123456789"


def meta_event(now: int, event_id: str = "conv-1", fbc: str | None = None) -> dict:
    user = {"client_user_agent": "UA"}
    if fbc:
        user["fbc"] = fbc
    return {"event_name": "Lead", "event_time": now, "event_id": event_id,
            "action_source": "website", "event_source_url": "https://x.example/",
            "user_data": user}


def record(services, platform: str, body: str, at: datetime) -> int:
    return journal.record(services.store, ManualClock(at), platform=platform, api="x",
                          method="POST", path="/", query={}, headers={}, body=body,
                          status=200, response={})


# --- ad clicks -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("platform", "kind", "shape"),
    [
        ("meta", "fbclid", r"[A-Za-z0-9_-]{60,150}"),
        ("tiktok", "ttclid", r"E\.C\.P\.[A-Za-z0-9_-]{150,250}"),
        ("google", "gclid", r"[A-Za-z0-9_-]{25,100}"),
    ],
    ids=["meta", "tiktok", "google"],
)
def test_ad_click_issues_a_realistic_click_id(client, platform, kind, shape):
    resp = client.post("/api/ad-clicks", json={"platform": platform})
    assert resp.status_code == 201
    click = resp.json
    assert (click["platform"], click["kind"]) == (platform, kind)
    assert re.fullmatch(shape, click["click_id"])
    assert {"id", "created_at", "ts", "variant"} <= set(click)


def test_aem_variant_fbclid_has_an_aem_part(client):
    click = client.post("/api/ad-clicks", json={"platform": "meta", "variant": "aem"}).json
    assert "_aem_" in click["click_id"]


@pytest.mark.parametrize(
    ("placement", "age_s"),
    [({"days_ago": 91}, 91 * 86400), ({"ago_seconds": 90}, 90)],
    ids=["days-ago", "ago-seconds"],
)
def test_ad_click_can_be_placed_in_the_past(client, services, placement, age_s):
    click = client.post("/api/ad-clicks", json={"platform": "google", **placement}).json
    assert services.clock.time() - click["ts"] == pytest.approx(age_s, abs=5)


def test_ad_click_at_an_iso_time_keeps_that_time(client):
    click = client.post("/api/ad-clicks",
                        json={"platform": "meta", "at": "2026-10-01T08:00:00Z"}).json
    assert click["created_at"] == "2026-10-01T08:00:00Z"
    assert click["ts"] == datetime(2026, 10, 1, 8, tzinfo=UTC).timestamp()


def test_ad_clicks_are_listed_filtered_and_fetched_by_id(client):
    meta = client.post("/api/ad-clicks", json={"platform": "meta"}).json
    client.post("/api/ad-clicks", json={"platform": "tiktok"})
    listed = client.get("/api/ad-clicks?platform=meta").json
    assert [c["id"] for c in listed["items"]] == [meta["id"]]
    assert client.get(f"/api/ad-clicks/{meta['id']}").json == meta
    assert client.get("/api/ad-clicks").json["count"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "bing"}, "platform"),
        ({}, "platform"),
        ({"platform": "meta", "variant": "huge"}, "variant"),
        ({"platform": "meta", "at": "yesterday"}, "at"),
        ({"platform": "meta", "days_ago": -1}, "days_ago"),
        ({"platform": "meta", "ago_seconds": "soon"}, "ago_seconds"),
        ({"platform": "meta", "days_ago": 1, "ago_seconds": 5}, "days_ago"),
    ],
    ids=["unknown-platform", "no-platform", "bad-variant", "bad-at", "negative-days",
         "text-seconds", "two-placements"],
)
def test_bad_ad_click_input_names_the_field(client, body, field):
    resp = client.post("/api/ad-clicks", json=body)
    # Two placements are each valid alone: the schema cannot say "one of", so it is a 422.
    assert resp.status_code == (422 if "ago_seconds" in body and "days_ago" in body else 400)
    assert resp.json["error"]["field"] == field


def test_non_json_ad_click_body_is_a_400(client):
    resp = client.post("/api/ad-clicks", data="platform=meta")
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "invalid_body"


def test_unknown_ad_click_is_a_json_404(client):
    resp = client.get("/api/ad-clicks/999")
    assert resp.status_code == 404
    assert resp.json["error"]["field"] == "id"


# --- journal ---------------------------------------------------------------------------------

def test_journal_filters_by_platform_time_ids_and_position(client, services):
    first = record(services, "meta", "fb.1.1.IwARclick1 conv-A",
                   datetime(2026, 11, 1, 10, tzinfo=UTC))
    second = record(services, "tiktok", "E.C.P.click2 conv-B",
                    datetime(2026, 11, 2, 10, tzinfo=UTC))
    third = record(services, "meta", "IwARclick3 conv-C", datetime(2026, 11, 3, 10, tzinfo=UTC))

    def ids(query: str) -> list[int]:
        resp = client.get("/api/journal" + query)
        assert resp.status_code == 200, resp.json
        return [e["id"] for e in resp.json["items"]]

    assert ids("") == [first, second, third]
    assert ids("?platform=meta") == [first, third]
    assert ids("?since=2026-11-02T00:00:00Z") == [second, third]
    assert ids("?until=2026-11-02T12:00:00Z") == [first, second]
    since = datetime(2026, 11, 1, 12, tzinfo=UTC).timestamp()
    assert ids(f"?since={since}&until=2026-11-02T12:00:00Z") == [second]
    assert ids("?click_id=IwARclick3") == [third]
    assert ids("?conversion_id=conv-B") == [second]
    assert ids(f"?after_id={first}") == [second, third]
    assert ids("?limit=1") == [first]


def test_journal_finds_a_conversion_id_percent_encoded_in_a_form_body(client, services):
    entry_id = record(services, "meta", "data=%5B%7B%22event_id%22%3A+%22order+7%2F1%22%7D%5D",
                      datetime(2026, 11, 1, tzinfo=UTC))
    items = client.get("/api/journal", query_string={"conversion_id": "order 7/1"}).json["items"]
    assert [e["id"] for e in items] == [entry_id]


def test_journal_entry_is_fetched_by_id(client, services):
    entry_id = record(services, "meta", "{}", datetime(2026, 11, 1, tzinfo=UTC))
    entry = client.get(f"/api/journal/{entry_id}").json
    assert (entry["id"], entry["platform"], entry["accepted"]) == (entry_id, "meta", False)
    assert client.get("/api/journal/999").status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?platform=bing", "platform"),
        ("?since=last-week", "since"),
        ("?until=nan", "until"),
        ("?after_id=x", "after_id"),
        ("?after_id=", "after_id"),
        ("?limit=0", "limit"),
        ("?count=0", "count"),
        ("?count=1&timeout=31", "timeout"),
        ("?count=1&timeout=-1", "timeout"),
    ],
    ids=["platform", "since", "until-nan", "after-id", "empty-after-id", "limit", "count",
         "long-timeout", "negative-timeout"],
)
def test_bad_journal_query_names_the_field(client, query, field):
    resp = client.get("/api/journal" + query)
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == field


def test_journal_wait_returns_once_enough_entries_arrive(live_server, services):
    now = int(services.clock.time())
    result: dict = {}

    def wait() -> None:
        result["body"] = requests.get(f"{live_server.url}/api/journal",
                                      params={"platform": "meta", "count": 2, "timeout": 20},
                                      timeout=30).json()

    waiter = threading.Thread(target=wait)
    waiter.start()
    for event_id in ("a", "b"):
        requests.post(live_server.url + META_URL, json={"data": [meta_event(now, event_id)]},
                      timeout=10)
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert result["body"]["count"] == 2
    assert result["body"]["timed_out"] is False


def test_journal_wait_gives_up_after_the_timeout(client, services):
    client.post(META_URL, json={"data": [meta_event(int(services.clock.time()))]})
    body = client.get("/api/journal?count=3&timeout=0.1").json
    assert (body["count"], body["timed_out"]) == (1, True)


# --- faults ----------------------------------------------------------------------------------

def test_fault_is_armed_listed_and_cleared(client):
    resp = client.post("/api/faults", json={"platform": "tiktok", "kind": "status",
                                            "status": 503, "count": 2})
    assert resp.status_code == 201
    assert (resp.json["platform"], resp.json["status"], resp.json["remaining"]) == (
        "tiktok", 503, 2)
    client.post("/api/faults", json={"platform": "meta", "kind": "reset"})
    assert client.get("/api/faults?platform=tiktok").json["count"] == 1
    assert client.delete("/api/faults?platform=tiktok").json == {"deleted": 1}
    assert client.delete("/api/faults").json == {"deleted": 1}
    assert client.get("/api/faults").json["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "bing", "kind": "status"}, "platform"),
        ({"platform": "meta", "kind": "explode"}, "kind"),
        ({"platform": "meta", "kind": "status", "status": 200}, "status"),
        ({"platform": "meta", "kind": "status", "status": "x"}, "status"),
        ({"platform": "meta", "kind": "status", "retry_after": -1}, "retry_after"),
        ({"platform": "meta", "kind": "delay"}, "delay"),
        ({"platform": "meta", "kind": "delay", "delay": 1000}, "delay"),
        ({"platform": "meta", "kind": "reset", "count": 0}, "count"),
        ({"platform": "meta", "kind": "reset", "count": True}, "count"),
    ],
    ids=["platform", "kind", "status-2xx", "status-text", "retry-after", "delay-missing",
         "delay-huge", "count-zero", "count-bool"],
)
def test_bad_fault_input_names_the_field(client, body, field):
    resp = client.post("/api/faults", json=body)
    # A delay fault without its delay is schema-valid (delay is optional for other kinds): 422.
    assert resp.status_code == (422 if body == {"platform": "meta", "kind": "delay"} else 400)
    assert resp.json["error"]["field"] == field


@pytest.mark.parametrize("body", [{"kind": "delay", "delay": 1, "status": 399},
                                  {"kind": "reset", "delay": 121},
                                  {"kind": "status", "delay": None}],
                         ids=["status-399-on-delay", "delay-121-on-reset", "null-delay"])
def test_every_fault_field_given_is_checked_whatever_the_kind(client, body):
    resp = client.post("/api/faults", json={"platform": "meta", **body})
    assert resp.status_code == 400


def test_clearing_faults_of_an_unknown_platform_is_a_400(client):
    assert client.delete("/api/faults?platform=bing").json["error"]["field"] == "platform"


def test_status_fault_answers_the_next_n_requests_then_stops(client, services):
    now = int(services.clock.time())
    client.post("/api/faults", json={"platform": "meta", "kind": "status", "status": 503,
                                     "count": 2})
    statuses = [client.post(META_URL, json={"data": [meta_event(now)]}).status_code
                for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_delay_fault_still_answers_normally(live_server, client, services):
    client.post("/api/faults", json={"platform": "meta", "kind": "delay", "delay": 0.2})
    resp = requests.post(live_server.url + META_URL,
                         json={"data": [meta_event(int(services.clock.time()))]}, timeout=10)
    assert resp.status_code == 200
    assert client.get("/api/faults").json["items"][0]["remaining"] == 0
    assert client.get("/api/journal").json["items"][-1]["fault"] == "delay 0.2s"


def test_reset_fault_drops_the_connection_and_is_journaled(live_server, client, services):
    client.post("/api/faults", json={"platform": "meta", "kind": "reset"})
    with pytest.raises(requests.ConnectionError) as dropped:
        requests.post(live_server.url + META_URL,
                      json={"data": [meta_event(int(services.clock.time()))]}, timeout=10)
    # A real RST, not a quiet close: the client sees "connection reset by peer".
    assert "ConnectionResetError" in repr(dropped.value)
    # The server journals after dropping the socket: wait for the entry instead of racing it.
    entry = client.get("/api/journal?count=1&timeout=10").json["items"][-1]
    assert (entry["status"], entry["fault"]) == (0, "connection reset")
    ok = requests.post(live_server.url + META_URL,
                       json={"data": [meta_event(int(services.clock.time()))]}, timeout=10)
    assert ok.status_code == 200


def test_faults_on_one_platform_leave_others_alone(client, services):
    client.post("/api/faults", json={"platform": "tiktok", "kind": "status", "status": 500})
    resp = client.post(META_URL, json={"data": [meta_event(int(services.clock.time()))]})
    assert resp.status_code == 200


# --- OpenAPI ---------------------------------------------------------------------------------

def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_every_platform_api_route_is_in_the_openapi_document(app, client):
    documented = client.get("/api/openapi.json").json["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("platform_api.", "meta.")):
            path = _openapi_path(rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in documented.get(path, {}), f"{method} {path}"


@pytest.mark.parametrize(
    ("url", "schema"),
    [("/api/journal/1", "JournalEntry"), ("/api/journal", "JournalList"),
     ("/api/ad-clicks/1", "AdClick"), ("/api/faults", "FaultList")],
    ids=["journal-entry", "journal-list", "ad-click", "faults"],
)
def test_answers_match_their_openapi_schemas(client, services, url, schema):
    doc = client.get("/api/openapi.json").json
    now = int(services.clock.time())
    fbclid = client.post("/api/ad-clicks", json={"platform": "meta", "days_ago": 1}).json
    client.post("/api/faults", json={"platform": "meta", "kind": "delay", "delay": 0})
    fbc = f"fb.1.{now}.{fbclid['click_id']}"
    client.post(META_URL, json={"data": [meta_event(now, fbc=fbc)]})
    validator = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}
    )
    body = client.get(url).json
    assert list(validator.iter_errors(body)) == []


def test_a_throttle_fault_elsewhere_is_an_http_429(client):
    client.post("/api/faults", json={"platform": "google_ads", "kind": "throttle"})

    resp = client.post("/google-ads/v18/customers/1234567890:uploadClickConversions", json={})

    assert resp.status_code == 429
    assert resp.get_json()["error"]["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("event_id", ["\u0085", " ", "evt-1"], ids=["next-line", "space", "plain"])
def test_a_pixel_event_takes_any_non_empty_event_id_as_documented(client, event_id):
    resp = client.post("/api/pixel-events", json={
        "platform": "meta", "event_name": "Purchase", "event_id": event_id, "pixel": "1234"})
    assert resp.status_code == 201, resp.json
    assert json.loads(resp.json["body"])["event_id"] == event_id


def test_a_pixel_event_without_an_event_id_names_the_field(client):
    resp = client.post("/api/pixel-events", json={
        "platform": "meta", "event_name": "Purchase", "event_id": "", "pixel": "1234"})
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "event_id"
