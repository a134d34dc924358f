"""Links & Promotion in a real browser: the tracking link follows the Sub IDs, ad clicks fill a
slot with an issued click ID, and a click-through records a click."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_tracking_link_updates_as_sub_ids_are_typed(page: Any, live_server: Any) -> None:
    page.goto("/links")
    link = page.get_by_label("Your tracking link")
    expect(link).to_have_value(f"{live_server.url}/click?offer_id=1")
    page.get_by_role("button", name="Add Sub IDs").click()
    page.get_by_label("Sub ID 1", exact=True).press_sequentially("instagram")
    expect(link).to_have_value(f"{live_server.url}/click?offer_id=1&sub1=instagram")
    page.get_by_label("Sub ID 2", exact=True).press_sequentially("story post")
    expect(link).to_have_value(
        f"{live_server.url}/click?offer_id=1&sub1=instagram&sub2=story%20post"
    )


def test_a_simulated_meta_ad_click_fills_the_chosen_slot_and_the_click_through_records_it(
    page: Any, services: Any, screenshot: Any
) -> None:
    page.goto("/links")
    page.get_by_label("Ad platform").select_option("meta")
    page.get_by_label("Sub ID slot for the click ID").select_option("sub3")
    page.get_by_role("button", name="Simulate ad click").click()
    expect(page.locator("#ad-result")).to_contain_text("fbclid")
    issued = services.store.select("ad_clicks")[0]["click_id"]
    expect(page.get_by_label("Sub ID 3", exact=True)).to_have_value(issued)
    assert page.get_by_label("Your tracking link").input_value().endswith(f"&sub3={issued}")
    page.get_by_role("button", name="Click the tracking link").click()
    expect(page.locator("#click-result")).to_contain_text("recorded")
    assert services.store.select("clicks")[0]["sub3"] == issued
    screenshot(page, "links")
