"""The reference receiver forwards each conversion to its platform, and nothing it should not."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest


def test_health_answers_ok(reference) -> None:
    response = reference.session.get(f"{reference.url}/health", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")


def test_meta_conversion_is_forwarded_as_capi_purchase(rig, reference, platforms) -> None:
    assert reference.send().status_code == 200
    sent = rig.only("meta", platforms)
    assert sent.path == "/meta/v21.0/111222333/events"
    assert sent.query == {"access_token": "meta-token"}
    assert sent.body == {"data": [{
        "event_name": "Purchase",
        "event_time": rig.TS,
        "event_id": "conv-1001",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "user_data": {
            "fbc": f"fb.1.{rig.TS * 1000}.{rig.FBCLID}",
            "client_ip_address": "203.0.113.7",
            "client_user_agent": rig.UA,
        },
        "custom_data": {"value": 12.5, "currency": "EUR"},
    }]}


def test_tiktok_conversion_is_forwarded_as_events_2_complete_payment(
    rig, reference, platforms
) -> None:
    assert reference.send(source="tiktok").status_code == 200
    sent = rig.only("tiktok", platforms)
    assert sent.path == "/tiktok/open_api/v1.3/event/track/"
    assert sent.headers["Access-Token"] == "tiktok-token"
    assert sent.body == {
        "event_source": "web",
        "event_source_id": "CPIXEL42",
        "data": [{
            "event": "CompletePayment",
            "event_time": rig.TS,
            "event_id": "conv-1001",
            "user": {"ttclid": rig.TTCLID, "ip": "203.0.113.7", "user_agent": rig.UA},
            "properties": {"value": 12.5, "currency": "EUR"},
            "page": {"url": "https://shop.example.com/checkout"},
        }],
    }


def test_google_conversion_is_uploaded_as_click_conversion(rig, reference, platforms) -> None:
    assert reference.send(source="google").status_code == 200
    sent = rig.only("google-ads", platforms)
    assert sent.path == "/google-ads/v18/customers/1234567890:uploadClickConversions"
    assert sent.headers["developer-token"] == "dev-token"
    assert sent.headers["Authorization"].startswith("Bearer ")
    when = datetime.fromtimestamp(rig.TS, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    assert sent.body == {
        "conversions": [{
            "gclid": rig.GCLID,
            "conversionAction": "customers/1234567890/conversionActions/555",
            "conversionDateTime": when,
            "conversionValue": 12.5,
            "currencyCode": "EUR",
            "orderId": "conv-1001",
        }],
        "partialFailure": True,
    }


def test_google_dm_conversion_is_ingested_into_data_manager(rig, reference, platforms) -> None:
    assert reference.send(source="google-dm").status_code == 200
    sent = rig.only("datamanager", platforms)
    assert sent.path == "/datamanager/v1/events:ingest"
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert sent.body == {
        "destinations": [{
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "9876543210"},
            "productDestinationId": "777",
        }],
        "events": [{
            "transactionId": "conv-1001",
            "eventTimestamp": datetime.fromtimestamp(rig.TS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "adIdentifiers": {"gclid": rig.GCLID},
            "conversionValue": 12.5,
            "currency": "EUR",
            "eventSource": "WEB",
        }],
    }


@pytest.mark.parametrize(
    "click_id",
    ["", "{sub1}", "{fbclid}", "%7Bsub1%7D", "[sub1]", "undefined", "null", "None", "  "],
    ids=["empty", "sub1-macro", "fbclid-macro", "encoded-macro", "bracket-macro", "undefined",
         "null", "None", "blank"],
)
@pytest.mark.parametrize("source", ["facebook", "tiktok", "google", "google-dm"])
def test_postback_without_a_real_click_id_forwards_nothing(
    reference, platforms, click_id: str, source: str
) -> None:
    response = reference.send(source=source, click_id=click_id)
    assert response.status_code == 200
    assert "ignored" in response.text
    assert platforms.requests() == []


@pytest.mark.parametrize("source", ["", "instagram", "bing"])
def test_postback_from_an_unknown_source_forwards_nothing(
    reference, platforms, source: str
) -> None:
    assert reference.send(source=source).status_code == 200
    assert platforms.requests() == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"txn": ""}, "txn"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": ""}, "ts"),
        ({"payout": "ten"}, "payout"),
        ({"payout": "nan"}, "payout"),
        ({"currency": "12"}, "currency"),
    ],
    ids=["no-txn", "word-ts", "no-ts", "word-payout", "nan-payout", "numeric-currency"],
)
def test_malformed_postback_is_rejected_with_400(
    reference, platforms, overrides: dict[str, str], reason: str
) -> None:
    response = reference.send(**overrides)
    assert response.status_code == 400
    assert reason in response.text
    assert platforms.requests() == []


def test_unknown_path_is_404(reference) -> None:
    assert reference.session.get(f"{reference.url}/nope", timeout=5).status_code == 404


def test_invalid_ip_is_left_out_rather_than_forwarded(rig, reference, platforms) -> None:
    reference.send(ip="not-an-ip")
    user_data = rig.only("meta", platforms).body["data"][0]["user_data"]
    assert "client_ip_address" not in user_data


def test_redelivered_postback_keeps_the_same_event_id(reference, platforms) -> None:
    reference.send()
    reference.send()
    ids = [r.body["data"][0]["event_id"] for r in platforms.requests("meta")]
    assert ids == ["conv-1001", "conv-1001"]


def test_conversion_older_than_seven_days_is_not_sent_to_meta(reference, platforms) -> None:
    eight_days_ago = str(int(time.time()) - 8 * 86400)
    response = reference.send(ts=eight_days_ago)
    assert response.status_code == 200
    assert platforms.requests() == []
    reference.send(ts=eight_days_ago, source="tiktok")
    assert len(platforms.requests("tiktok")) == 1
