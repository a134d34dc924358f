"""The official SDK tiktok-business-api-sdk-official, unmodified, as a real client of the mock.

Only `Configuration().host` changes: the SDK appends `/open_api/v1.3/pixel/track/` to it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import business_api_client as tiktok
import pytest
from business_api_client.tiktok_business.tiktok_exceptions import TiktokSDKError

from simulator.platforms import clickids, journal
from simulator.server import BackgroundServer
from simulator.services import Services

PIXEL = "CTESTPIXEL123"


@pytest.fixture
def events_api(live_server: BackgroundServer) -> Iterator[tiktok.EventCallbackApi]:
    config = tiktok.Configuration()
    config.host = live_server.url + "/tiktok"
    api_client = tiktok.ApiClient(config)
    yield tiktok.EventCallbackApi(api_client)
    api_client.rest_client.pool_manager.clear()
    api_client.pool.close()
    api_client.pool.join()


def sdk_event(ttclid: str, timestamp: str, event_id: str) -> dict:
    """The keyword arguments of PixelTrackBody / PixelbatchBatch, minus pixel_code."""
    return {
        "event": "CompletePayment",
        "event_id": event_id,
        "timestamp": timestamp,
        "context": tiktok.PixelContext(
            ad=tiktok.PixelContextAd(callback=ttclid),
            ip="203.0.113.9",
            user_agent="Mozilla/5.0",
            page=tiktok.PixelContextPage(url="https://shop.example.com/"),
            user=tiktok.PixelContextUser(external_id="b" * 64),
        ),
        "properties": tiktok.PixelProperties(value=12.5, currency="USD"),
    }


def test_the_official_sdk_pixel_track_call_is_accepted_and_journaled(
    events_api: tiktok.EventCallbackApi, services: Services
) -> None:
    now = services.clock.now().replace(microsecond=0)
    click = clickids.issue(services.store, services.clock, random.Random(1), "tiktok",
                           at=now - timedelta(days=2))
    body = tiktok.PixelTrackBody(pixel_code=PIXEL,
                                 **sdk_event(click["click_id"], now.isoformat(), "conv-7"))

    # The SDK raises TiktokSDKError for any code but 0, and returns data and request_id.
    result = events_api.pixel_track("test-tiktok-token", body=body)

    assert result["data"] == {}
    [entry] = journal.wait_for(services.store, count=1, timeout=5, platform="tiktok")
    assert entry["path"] == "/tiktok/open_api/v1.3/pixel/track/"
    assert (entry["api"], entry["accepted"]) == ("events1", True)
    assert entry["response"]["request_id"] == result["request_id"]
    [event] = entry["events"]
    assert event["event_id"] == "conv-7"
    assert event["event_time"] == now.timestamp()
    assert (event["value"], event["currency"]) == (12.5, "USD")
    assert event["click_id"]["field"] == "context.ad.callback"
    assert event["attribution"]["status"] == "matched"
    assert event["findings"] == []


def test_the_official_sdk_pixel_batch_call_is_accepted(
    events_api: tiktok.EventCallbackApi, services: Services
) -> None:
    stamp = services.clock.now().replace(microsecond=0).isoformat()
    batch = [tiktok.PixelbatchBatch(type="track", **sdk_event("E.C.P.notissued", stamp, f"c{i}"))
             for i in range(2)]

    events_api.pixel_batch("test-tiktok-token",
                           body=tiktok.PixelBatchBody(pixel_code=PIXEL, batch=batch))

    [entry] = journal.wait_for(services.store, count=1, timeout=5, platform="tiktok")
    assert entry["accepted"] is True
    assert [e["event_id"] for e in entry["events"]] == ["c0", "c1"]
    assert [e["attribution"]["status"] for e in entry["events"]] == ["unknown", "unknown"]


def test_the_official_sdk_surfaces_a_bad_parameter_as_its_error(
    events_api: tiktok.EventCallbackApi, services: Services
) -> None:
    body = tiktok.PixelTrackBody(pixel_code=PIXEL,
                                 **sdk_event("E.C.P.x", "last tuesday", "conv-8"))

    with pytest.raises(TiktokSDKError, match=r"Error Code: 40002, message: timestamp: Not a "
                                             r"valid datetime\."):
        events_api.pixel_track("test-tiktok-token", body=body)

    [entry] = journal.wait_for(services.store, count=1, timeout=5, platform="tiktok")
    assert entry["accepted"] is False
