"""Conversions & deliveries in a real browser: a post-conversion event fired on a click reaches
the receiver, the log filters by status, and a delivery is replayed."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_event_fired_on_a_click_is_delivered_and_can_be_replayed(
    page: Any, client: Any, receiver: Any, screenshot: Any
) -> None:
    template = f"{receiver.url}/pb?e={{payout_amount}}&cur={{offer_currency}}&txn={{conversion_id}}"
    assert client.post("/api/postbacks", json={"url": template}).status_code == 201
    click = client.post("/api/clicks", json={"sub1": "abc"}).get_json()

    page.goto(f"/conversions?click={click['unique_click_id']}")
    page.get_by_label("Kind").select_option("event")
    page.get_by_label("Event name").fill("upsell")
    page.get_by_label("Payout").fill("5.25")
    page.get_by_label("Currency").fill("eur")
    page.get_by_role("button", name="Fire", exact=True).click()
    fired = page.locator("#conversion-result .delivery")
    expect(fired.locator(".badge")).to_have_text("delivered")
    assert parse_qs(urlsplit(receiver.requests[0]).query)["cur"] == ["EUR"]
    assert parse_qs(urlsplit(receiver.requests[0]).query)["e"] == ["5.25"]

    page.goto("/conversions?status=failed")
    expect(page.locator("table.log")).to_contain_text("No deliveries match.")
    page.get_by_label("Status").select_option("delivered")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("#delivery-1")
    expect(row).to_contain_text("event")
    page.get_by_role("button", name="Replay delivery 1").click()
    expect(page.locator("#action-result")).to_contain_text("Replayed as delivery 2")
    expect(page.locator("#action-result .delivery .badge")).to_have_text("delivered")
    assert len(receiver.requests) == 2
    assert receiver.requests[0] == receiver.requests[1]
    page.reload()
    expect(page.locator("#delivery-2")).to_contain_text("replay of 1")
    screenshot(page, "conversions")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_failed_delivery_is_retried_from_the_log(page: Any, client: Any, services: Any) -> None:
    template = f"http://127.0.0.1:{_closed_port()}/pb?txn={{conversion_id}}&s={{sub1}}"
    assert client.post("/api/postbacks", json={"url": template}).status_code == 201
    conversion = client.post("/api/postbacks/test", json={}).get_json()
    [delivery_id] = conversion["delivery_ids"]
    page.goto("/conversions")
    final = page.evaluate(
        "id => Dash.followDelivery(id, () => {}, {tries: 100, every: 100})", delivery_id
    )
    assert final["status"] == "failed"
    page.reload()
    attempts = len(services.store.select("attempts"))
    page.get_by_role("button", name=f"Retry delivery {delivery_id}").click()
    expect(page.locator("#action-result")).to_contain_text(f"Retrying delivery {delivery_id}")
    expect(page.locator("#action-result .delivery .badge")).to_have_text("failed")
    assert len(services.store.select("attempts")) > attempts
