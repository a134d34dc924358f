"""The official `facebook-business` SDK talks to the Meta mock unmodified, over a real socket."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs

import pytest
from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError

PIXEL_ID = "1234567890"
TOKEN = "EAAGsdktesttoken0123456789"


@pytest.fixture
def sdk_api(live_server, monkeypatch) -> FacebookAdsApi:
    """An SDK client whose Graph base URL is the mock; the SDK adds the version itself."""
    session = FacebookSession(access_token=TOKEN, app_secret="app-secret", timeout=10)
    session.GRAPH = live_server.url + "/meta"
    api = FacebookAdsApi(session)
    # EventRequest reaches the API through the SDK's process-wide default; restored after.
    monkeypatch.setattr(FacebookAdsApi, "_default_api", api)
    return api


def sdk_event(now: int, fbc: str, **changes) -> Event:
    fields = {
        "event_name": "Purchase",
        "event_time": now - 30,
        "event_id": "conv-sdk-1",
        "event_source_url": "https://shop.example/thanks",
        "action_source": ActionSource.WEBSITE,
        "user_data": UserData(emails=["John_Smith@Gmail.com"], client_ip_address="203.0.113.7",
                              client_user_agent="Mozilla/5.0 (SDK test)", fbc=fbc),
        "custom_data": CustomData(currency="usd", value=19.99),
    }
    fields.update(changes)
    return Event(**fields)


def test_sdk_event_request_is_accepted_and_journaled_with_parsed_fields(
    sdk_api, client, services
):
    now = int(services.clock.time())
    fbclid = client.post("/api/ad-clicks",
                         json={"platform": "meta", "ago_seconds": 3600}).json["click_id"]
    fbc = f"fb.1.{(now - 3600) * 1000}.{fbclid}"

    response = EventRequest(pixel_id=PIXEL_ID, events=[sdk_event(now, fbc)]).execute()

    assert response.events_received == 1
    assert response.messages == []
    entry = client.get("/api/journal?platform=meta").json["items"][-1]
    assert entry["path"] == f"/meta/{FacebookAdsApi.API_VERSION}/{PIXEL_ID}/events"
    assert entry["accepted"] is True
    assert TOKEN not in entry["query"]["access_token"]
    assert "appsecret_proof" in entry["query"]
    # The SDK posts a form whose `data` is a JSON array of JSON strings (platform-rules §2).
    assert entry["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    items = json.loads(parse_qs(entry["body"])["data"][0])
    assert isinstance(items[0], str)
    event = entry["events"][0]
    assert (event["event_name"], event["event_time"], event["event_id"]) == (
        "Purchase", now - 30, "conv-sdk-1")
    assert (event["value"], event["currency"]) == (19.99, "usd")
    assert event["click_id"]["value"] == fbclid
    assert event["attribution"]["status"] == "matched"
    assert event["user"] == {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (SDK test)"}
    # The SDK hashes the normalised email itself (platform-rules §2 test vector).
    assert event["raw"]["user_data"]["em"] == [hashlib.sha256(b"john_smith@gmail.com").hexdigest()]
    assert entry["findings"] == []


def test_sdk_raises_meta_error_for_an_event_older_than_seven_days(sdk_api, services):
    now = int(services.clock.time())
    old = sdk_event(now, "fb.1.1712248396000.IwAR2F4x", event_time=now - 8 * 86400)
    with pytest.raises(FacebookRequestError) as raised:
        EventRequest(pixel_id=PIXEL_ID, events=[old]).execute()
    assert raised.value.http_status() == 400
    assert raised.value.api_error_code() == 100
    assert raised.value.api_error_subcode() == 2804003
    assert raised.value.api_error_type() == "OAuthException"
