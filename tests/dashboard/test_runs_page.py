"""Scenario runs from the page: a real run of one catalogue scenario against the bundled
reference receiver, followed to its findings and the HTML report."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from conformance.receiver_process import POSTBACK_QUERY

pytestmark = pytest.mark.browser

def test_a_scenario_run_started_from_the_page_shows_its_progress_and_report(
    page: Any, reference_receiver: str, screenshot: Any
) -> None:
    profile = (
        f'postback_url: "{reference_receiver}/postback?{POSTBACK_QUERY}"\n'
        "click_id_sub: sub1\nsource_sub: sub2\nsettle_seconds: 0.3\n"
        'platforms:\n  meta: {pixel_id: "1234567890"}\n'
    )
    page.goto("/runs")
    page.get_by_label("…or paste the profile YAML").fill(profile)
    page.get_by_label("meta-happy-path", exact=False).check()
    page.get_by_role("button", name="Start run").click()
    progress = page.locator("#run-progress")
    expect(progress).to_contain_text("finished", timeout=60000)
    expect(progress).to_contain_text("1 passed, 0 failed")
    expect(progress.locator(".scenario")).to_contain_text("meta-happy-path")
    screenshot(page, "runs")
    page.get_by_role("link", name="full HTML report").click()
    expect(page).to_have_title("postback-sim report: 1 passed, 0 failed")
