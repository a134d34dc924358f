"""Reading deliveries with their attempts; replaying and retrying them by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.http_client import HttpResult

RECEIVER = ("https://receiver.example/postback"
            "?click_id={sub1}&payout={payout_amount}&txn={conversion_id}")


@dataclass
class ScriptedReceiver:
    """An HttpClient stand-in answering every request with one status; records the URLs."""

    status: int = 200
    body: str = "ok"
    urls: list[str] = field(default_factory=list)

    def send(self, method, url, *, body=None, headers=None, timeout=10.0) -> HttpResult:
        self.urls.append(url)
        return HttpResult(status=self.status, body=self.body, latency_ms=1.0)


@pytest.fixture
def receiver() -> ScriptedReceiver:
    return ScriptedReceiver()


@pytest.fixture
def app(receiver) -> Iterator[Flask]:
    """No worker threads: tests send due deliveries with `run_due()`, in the test's thread."""
    application = create_app(testing_config(start_workers=False), http_client=receiver)
    yield application
    shutdown(application)


@pytest.fixture
def fired(api, click) -> dict:
    api("POST", "/api/postbacks", 201, json={"url": RECEIVER})
    return api("POST", "/api/conversions", 201, json={"click": click["unique_click_id"]})


def test_delivery_shows_the_expanded_url_and_every_attempt(api, services, fired, receiver):
    receiver.body = "thanks"
    services.delivery.run_due()
    delivery = api("GET", f"/api/deliveries/{fired['delivery_ids'][0]}")
    assert delivery["status"] == "delivered"
    assert delivery["conversion_ref"] == fired["conversion_id"]
    assert delivery["attempt_count"] == 1
    [attempt] = delivery["attempts"]
    assert (attempt["status_code"], attempt["response_body"]) == (200, "thanks")
    assert attempt["url"] == delivery["url"] == receiver.urls[0]


def test_deliveries_list_filters_and_pages_newest_first(api, click, fired):
    second = api("POST", "/api/conversions", 201, json={"click": click["id"]})
    everything = api("GET", "/api/deliveries")
    assert [d["id"] for d in everything["deliveries"]] == [
        second["delivery_ids"][0], fired["delivery_ids"][0]]
    assert everything["total"] == 2
    page = api("GET", "/api/deliveries?limit=1&offset=1")
    assert [d["id"] for d in page["deliveries"]] == fired["delivery_ids"]
    by_conversion = api("GET", f"/api/deliveries?conversion_id={fired['conversion_id']}")
    assert [d["id"] for d in by_conversion["deliveries"]] == fired["delivery_ids"]
    assert api("GET", "/api/deliveries?status=delivered")["deliveries"] == []
    assert api("GET", "/api/deliveries?offer_id=1")["total"] == 2


def test_deliveries_filter_by_creation_time(api, fired):
    created = api("GET", f"/api/deliveries/{fired['delivery_ids'][0]}")["created_at"]
    assert api("GET", f"/api/deliveries?since={created}")["total"] == 1
    assert api("GET", f"/api/deliveries?until={created}")["total"] == 0
    assert api("GET", "/api/deliveries?since=2000-01-01T00:00:00Z")["total"] == 1


def test_replay_sends_the_same_request_as_a_new_delivery(api, services, fired, receiver):
    services.delivery.run_due()
    replayed = api("POST", f"/api/deliveries/{fired['delivery_ids'][0]}/replay", 201)
    assert replayed["redelivery_of"] == fired["delivery_ids"][0]
    services.delivery.run_due()
    assert receiver.urls[0] == receiver.urls[1]


def test_failed_delivery_can_be_retried_and_a_pending_one_cannot(api, services, fired,
                                                                  receiver):
    delivery_id = fired["delivery_ids"][0]
    assert api("POST", f"/api/deliveries/{delivery_id}/retry", 409)["error"]["code"] == "conflict"
    receiver.status = 404
    services.delivery.run_due()
    assert api("GET", f"/api/deliveries/{delivery_id}")["status"] == "failed"
    receiver.status = 200
    assert api("POST", f"/api/deliveries/{delivery_id}/retry")["status"] == "pending"
    services.delivery.run_due()
    delivery = api("GET", f"/api/deliveries/{delivery_id}")
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [404, 200]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=lost", "status"), ("limit=0", "limit"), ("limit=x", "limit"),
     ("since=last-week", "since"), ("order=asc", "order")],
    ids=["unknown-status", "zero-limit", "non-numeric-limit", "bad-time", "unknown-parameter"],
)
def test_bad_delivery_filters_are_refused_naming_the_parameter(api, query, field):
    assert api("GET", f"/api/deliveries?{query}", 400)["error"]["field"] == field


@pytest.mark.parametrize("path", ["/api/deliveries/99", "/api/deliveries/99/replay",
                                  "/api/deliveries/99/retry", "/api/deliveries/" + "9" * 30])
def test_unknown_delivery_is_a_json_404(client, path):
    resp = client.open(path, method="GET" if path.count("/") == 3 else "POST")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"
