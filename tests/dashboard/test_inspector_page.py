"""The platform inspector in a real browser: a faulty Meta request shows its rule finding with
the offending field highlighted and the doc link, next to the postback that caused it."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import expect

from conformance.rules import get_rule

pytestmark = pytest.mark.browser


def _post_json(url: str, body: dict[str, Any]) -> int:
    request = Request(url, data=json.dumps(body).encode(), method="POST",
                      headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        return response.status


def test_the_inspector_shows_the_finding_for_a_hashed_fbc(
    page: Any, live_server: Any, services: Any, screenshot: Any
) -> None:
    now = services.clock.now().timestamp()
    fbc = f"fb.1.{int(now * 1000)}.IwAR2xFakeButWellFormedClickId"
    event = {
        "event_name": "Purchase",
        "event_time": int(now),
        "event_id": "3f1c9a7e5b2d4c6a8e0f1a2b3c4d5e6f",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/thanks",
        "user_data": {"fbc": hashlib.sha256(fbc.encode()).hexdigest(),
                      "client_ip_address": "203.0.113.7", "client_user_agent": "Mozilla/5.0"},
        "custom_data": {"value": 12.5, "currency": "USD"},
    }
    page.goto("/inspector")
    expect(page.locator("#no-entries")).to_be_visible()
    status = _post_json(f"{live_server.url}/meta/v21.0/123/events?access_token=EAAtest123456",
                        {"data": [event]})
    assert status == 200
    entry = page.locator("article.entry").first
    expect(entry).to_contain_text("[META-002]")
    highlighted = entry.locator("pre.json mark")
    expect(highlighted).to_have_count(1)
    expect(highlighted).to_have_attribute("title", "data.0.user_data.fbc")
    finding = entry.locator("li.finding", has_text="[META-002]")
    expect(finding.get_by_role("link")).to_have_attribute("href", get_rule("META-002").doc_url)
    screenshot(page, "inspector-finding")


@pytest.fixture
def hashing_receiver(live_server: Any) -> Iterator[str]:
    """A faulty receiver: forwards each postback to the Meta mock with fbc hashed and the
    conversion ID as event_id; answers the network 200. Yields its postback URL template."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            fbc = f"fb.1.{int(float(query['ts']) * 1000)}.{query['click_id']}"
            event = {
                "event_name": "Purchase", "event_time": int(query["ts"]),
                "event_id": query["txn"], "action_source": "website",
                "event_source_url": "https://shop.example.com/thanks",
                "user_data": {"fbc": hashlib.sha256(fbc.encode()).hexdigest(),
                              "client_ip_address": "203.0.113.7",
                              "client_user_agent": "Mozilla/5.0"},
                "custom_data": {"value": float(query["payout"]), "currency": "USD"},
            }
            _post_json(f"{live_server.url}/meta/v21.0/123/events?access_token=EAAtest123456",
                       {"data": [event]})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield (f"http://127.0.0.1:{server.server_port}/postback?click_id={{sub1}}"
           "&payout={payout_amount}&txn={conversion_id}&ts={timestamp}")
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_conversion_fired_from_the_page_shows_in_the_inspector_beside_its_postback(
    page: Any, client: Any, hashing_receiver: str, screenshot: Any
) -> None:
    fbclid = client.post("/api/ad-clicks", json={"platform": "meta"}).get_json()["click_id"]
    assert client.post("/api/postbacks", json={"url": hashing_receiver}).status_code == 201
    click = client.post("/api/clicks", json={"sub1": fbclid}).get_json()
    page.goto(f"/conversions?click={click['unique_click_id']}")
    page.get_by_label("Payout").fill("20")
    page.get_by_role("button", name="Fire", exact=True).click()
    delivery = page.locator("#conversion-result .delivery")
    expect(delivery.locator(".badge")).to_have_text("delivered")
    conversion_id = page.locator("#conversion-result p code").first.inner_text()

    page.goto("/inspector")
    entry = page.locator("article.entry").first
    expect(entry).to_contain_text("[META-002]")
    cause = entry.locator(".delivery")
    expect(cause).to_contain_text(f"txn={conversion_id}")
    expect(cause.locator(".badge")).to_have_text("delivered")
    # A hashed fbc hides the fbclid, so Meta cannot attribute the conversion to the ad click.
    expect(entry.locator("table.events")).to_contain_text("absent")
    screenshot(page, "inspector")
