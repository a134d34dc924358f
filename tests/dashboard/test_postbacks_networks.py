"""Advanced > Postbacks speaks the network: the picker holds its macros, a save keeps it, and a
postback the network disabled after repeated failures says so, is still fired by a test, and can
be enabled again (Everflow: 10 consecutive failures)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGE = "/advanced/postbacks"
WAIT_S = 15.0


def open_picker(page: Any) -> Any:
    page.get_by_role("button", name="{ } Add Macro").click()
    return picker(page).get_by_role("option")


def picker(page: Any) -> Any:
    return page.get_by_role("listbox", name="Available macros")


def test_the_macro_picker_offers_the_chosen_networks_macros(
    page: Any, live_server: Any, receiver: Any
) -> None:
    page.goto(PAGE + "?network=impact")
    options = open_picker(page)
    expect(options).to_have_count(16)
    expect(picker(page).get_by_role("option", name="{SubId1}")).to_be_visible()
    expect(picker(page).get_by_role("option", name="{sub1}", exact=True)).to_have_count(0)
    page.keyboard.press("Escape")

    url = page.get_by_label("Postback URL", exact=True)
    url.fill(f"{receiver.url}/postback?click_id=")
    page.get_by_label("Network").select_option("cake")
    expect(page).to_have_url(f"{live_server.url}{PAGE}?network=cake")
    expect(url).to_have_value(f"{receiver.url}/postback?click_id=")  # the draft survives
    url.press("End")
    url.press_sequentially("{")
    page.get_by_label("Search macros").fill("sub id 2")
    picker(page).get_by_role("option", name="#s2#").click()
    expect(url).to_have_value(f"{receiver.url}/postback?click_id=#s2#")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved postback")

    saved = requests.get(f"{live_server.url}/api/postbacks", timeout=10).json()["postbacks"]
    assert [(p["url"], p["network"]) for p in saved] == [
        (f"{receiver.url}/postback?click_id=#s2#", "cake")]


def wait_disabled(base: str, postback_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        row = requests.get(f"{base}/api/postbacks/{postback_id}", timeout=10).json()
        if not row["enabled"]:
            return row
        time.sleep(0.1)
    raise AssertionError(f"postback {postback_id} still enabled after {WAIT_S} s")


def test_a_postback_everflow_disabled_shows_it_is_still_tested_and_is_enabled_again(
    page: Any, live_server: Any, receiver: Any
) -> None:
    base = live_server.url
    postback = requests.post(f"{base}/api/postbacks", timeout=10, json={
        "url": f"{base}/no-such-receiver?click_id={{sub1}}", "network": "everflow"}).json()
    for _ in range(10):  # a 404 is a failure the network does not retry
        fired = requests.post(f"{base}/api/postbacks/test", timeout=10,
                              json={"postback_id": postback["id"]})
        assert fired.status_code < 300, fired.text
    assert "10 consecutive failed" in wait_disabled(base, postback["id"])["disabled_reason"]

    page.goto(PAGE)
    banner = page.get_by_role("alert")
    expect(banner).to_contain_text(f"Postback {postback['id']} is disabled")
    expect(banner).to_contain_text("Everflow disabled this postback after 10 consecutive")
    url = page.get_by_label("Postback URL", exact=True)
    url.fill(f"{receiver.url}/postback?click_id={{sub1}}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved postback")
    page.get_by_role("button", name="Fire test conversion").click()
    expect(page.locator("#test-result .delivery .badge")).to_have_text("delivered")
    assert receiver.arrived.wait(WAIT_S)
    assert requests.get(f"{base}/api/postbacks/{postback['id']}", timeout=10).json()[
        "enabled"] is False  # a test fires it; enabling is the partner's own step

    page.get_by_role("button", name="Enable again").click()
    expect(page.locator("#postback-disabled")).to_contain_text("is enabled again")
    row = requests.get(f"{base}/api/postbacks/{postback['id']}", timeout=10).json()
    assert (row["enabled"], row["disabled_reason"]) == (True, None)
