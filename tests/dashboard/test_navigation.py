"""The overview links every page, and the left-hand menu reaches each of them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MENU = [
    ("Advanced > Postbacks", "Advanced > Postbacks"),
    ("Links & Promotion", "Links & Promotion"),
    ("Conversions & deliveries", "Conversions & deliveries"),
    ("Platform inspector", "Platform inspector"),
    ("Scenario runs", "Scenario runs"),
    ("Overview", "Partner dashboard"),
]


def test_the_menu_reaches_every_page_from_the_overview(page: Any, screenshot: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Partner dashboard")
    screenshot(page, "overview")
    menu = page.get_by_role("navigation", name="Dashboard")
    for link, heading in MENU:
        menu.get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(menu.get_by_role("link", name=link, exact=True)).to_have_attribute(
            "aria-current", "page")
