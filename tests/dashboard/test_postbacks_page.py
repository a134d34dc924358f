"""Advanced > Postbacks in a real browser: the macro picker, validation, save and a test
conversion that reaches a local receiver."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGE = "/advanced/postbacks"


def macro_options(page: Any) -> Any:
    """The picker's options (the network select's options are options too)."""
    return page.get_by_role("listbox", name="Available macros").get_by_role("option")


def test_add_macro_button_inserts_the_chosen_macro_at_the_cursor(page: Any) -> None:
    page.goto(PAGE)
    url = page.get_by_label("Postback URL", exact=True)
    url.fill("https://yourserver.com/postback?click_id=&txn=1")
    url.evaluate("el => el.setSelectionRange(41, 41)")  # just after "click_id="
    page.get_by_role("button", name="{ } Add Macro").click()
    page.get_by_label("Search macros").fill("sub id 1")
    expect(macro_options(page)).to_have_count(1)
    macro_options(page).get_by_text("{sub1}").click()
    expect(url).to_have_value("https://yourserver.com/postback?click_id={sub1}&txn=1")
    expect(page.locator("#macro-picker")).to_be_hidden()


def test_typing_a_brace_opens_the_picker_and_the_macro_replaces_the_brace(
    page: Any, screenshot: Any
) -> None:
    page.goto(PAGE)
    url = page.get_by_label("Postback URL", exact=True)
    url.fill("https://yourserver.com/postback?click_id={sub1}&payout=")
    url.press("End")
    url.press_sequentially("{")
    search = page.get_by_label("Search macros")
    expect(search).to_be_focused()
    expect(macro_options(page)).to_have_count(14)
    search.fill("payout")
    screenshot(page, "postbacks-macro-picker")
    search.press("Enter")
    expect(url).to_have_value(
        "https://yourserver.com/postback?click_id={sub1}&payout={payout_amount}"
    )


@pytest.mark.parametrize(
    ("typed", "messages"),
    [
        ("ftp://yourserver.com/postback?click_id={sub1}",
         ["must start with http:// or https://"]),
        ("https://yourserver.com/postback?click_id={sub1}&payout={payout}",
         ["unknown macro {payout}", "did you mean {payout_amount}?"]),
        ("http://yourserver.com/postback?click_id={sub1}", ["use an HTTPS endpoint"]),
    ],
    ids=["bad-scheme", "unknown-macro-with-suggestion", "http-warning"],
)
def test_validation_messages_appear_as_you_type(page: Any, typed: str, messages: list[str]) -> None:
    page.goto(PAGE)
    page.get_by_label("Postback URL", exact=True).fill(typed)
    problems = page.locator("#validation")
    for message in messages:
        expect(problems).to_contain_text(message)


def test_a_test_conversion_fired_from_the_page_reaches_the_receiver(
    page: Any, receiver: Any, screenshot: Any
) -> None:
    page.goto(PAGE)
    template = (f"{receiver.url}/postback?click_id={{sub1}}&payout={{payout_amount}}"
                "&txn={conversion_id}")
    page.get_by_label("Postback URL", exact=True).fill(template)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("Saved postback")
    page.get_by_role("button", name="Fire test conversion").click()
    delivery = page.locator("#test-result .delivery")
    expect(delivery.locator(".badge")).to_have_text("delivered")
    expect(delivery.locator("table.attempts tbody tr")).to_have_count(1)
    expect(delivery).to_contain_text('{"status": "ok"}')
    assert receiver.arrived.wait(5)
    sent = parse_qs(urlsplit(receiver.requests[0]).query)
    assert sent["click_id"] == ["test_sub1"]
    assert sent["txn"][0] in delivery.locator(".url").inner_text()
    screenshot(page, "postbacks")
