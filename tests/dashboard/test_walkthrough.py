"""The issue's "done when", in a browser: build the seed's postback with the macro picker, set
Sub IDs, simulate a Meta ad click, fire a test conversion, and see what the reference receiver
sent to Meta and that it was right."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# (literal text before the macro, the macro's name): the profile's postback, built macro by macro.
SEGMENTS = [
    ("/postback?click_id=", "sub1"), ("&source=", "sub2"), ("&payout=", "payout_amount"),
    ("&currency=", "offer_currency"), ("&txn=", "conversion_id"), ("&ts=", "timestamp"),
    ("&ip=", "user_ip"), ("&ua=", "user_agent"),
]


def test_a_user_builds_the_postback_simulates_a_meta_click_and_sees_a_clean_meta_request(
    page: Any, reference_receiver: str, screenshot: Any
) -> None:
    page.goto("/links")
    page.get_by_role("button", name="Add Sub IDs").click()
    page.get_by_label("Sub ID 2", exact=True).fill("facebook")
    page.get_by_label("Ad platform").select_option("meta")
    page.get_by_label("Sub ID slot for the click ID").select_option("sub1")
    page.get_by_role("button", name="Simulate ad click").click()
    expect(page.locator("#ad-result")).to_contain_text("fbclid")
    fbclid = page.get_by_label("Sub ID 1", exact=True).input_value()

    page.goto("/advanced/postbacks")
    url = page.get_by_label("Postback URL", exact=True)
    url.fill(reference_receiver)
    url.press("End")
    for text, macro in SEGMENTS:
        page.keyboard.insert_text(text)
        page.keyboard.type("{")
        page.get_by_label("Search macros").fill(macro.replace("_", " "))
        page.get_by_role("option", name="{" + macro + "}").click()
    expect(url).to_have_value(reference_receiver + "/postback?click_id={sub1}&source={sub2}"
                              "&payout={payout_amount}&currency={offer_currency}"
                              "&txn={conversion_id}&ts={timestamp}&ip={user_ip}&ua={user_agent}")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved postback")
    expect(page.get_by_label("Test Sub ID 1")).to_have_value(fbclid)
    page.get_by_role("button", name="Fire test conversion").click()
    expect(page.locator("#test-result .delivery .badge")).to_have_text("delivered")

    page.goto("/inspector")
    entry = page.locator("article.entry").first
    expect(entry).to_contain_text("meta")
    expect(entry).to_contain_text("no findings")
    expect(entry.locator("table.events")).to_contain_text("matched")
    expect(entry.locator(".delivery")).to_contain_text(f"click_id={fbclid}")
    screenshot(page, "inspector-reference-receiver")
