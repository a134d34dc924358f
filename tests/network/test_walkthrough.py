"""The README walk-through end to end: real HTTP from the simulator to a receiver on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask, request

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.server import BackgroundServer

DEADLINE_S = 10.0


def receiver_app(received: list[dict[str, Any]]) -> Flask:
    """A receiver that records each postback's path and query and answers `ok <txn>`."""
    app = Flask("receiver")

    @app.get("/postback")
    def postback() -> str:
        received.append({"path": request.path, "args": request.args.to_dict(flat=False)})
        return f"ok {request.args.get('txn', '')}"

    return app


@pytest.fixture
def received() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def receiver(received) -> Iterator[BackgroundServer]:
    with BackgroundServer(receiver_app(received)) as server:
        yield server


@pytest.fixture
def simulator() -> Iterator[BackgroundServer]:
    """The simulator with its delivery workers, on a real socket."""
    app = create_app(testing_config())
    try:
        with BackgroundServer(app) as server:
            yield server
    finally:
        shutdown(app)


def wait_for_settled_delivery(sim_url: str, delivery_id: int) -> dict[str, Any]:
    """Poll the deliveries API (bounded) until the delivery is no longer pending."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        delivery = requests.get(f"{sim_url}/api/deliveries/{delivery_id}", timeout=5).json()
        if delivery["status"] != "pending" or time.monotonic() > deadline:
            return delivery
        time.sleep(0.05)


def test_readme_walkthrough_delivers_the_expanded_postback(simulator, receiver, received):
    sim = simulator.url
    offer = requests.post(f"{sim}/api/offers", timeout=5, json={
        "name": "Walkthrough", "landing_url": "https://shop.example.com/landing",
        "payout": 12.5, "currency": "USD"}).json()
    template = (f"{receiver.url}/postback?click_id={{sub1}}&payout={{payout_amount}}"
                "&txn={conversion_id}")
    saved = requests.post(f"{sim}/api/postbacks", timeout=5,
                          json={"offer_id": offer["id"], "url": template})
    assert saved.status_code == 201
    link = requests.post(f"{sim}/api/links", timeout=5,
                         json={"offer_id": offer["id"], "sub1": "abc"}).json()
    assert link["url"] == f"{sim}/click?offer_id={offer['id']}&sub1=abc"

    click = requests.get(link["url"], allow_redirects=False, timeout=5)
    assert click.status_code == 302
    unique_click_id = click.headers["Location"].rsplit("transaction_id=", 1)[1]
    conversion = requests.post(f"{sim}/api/conversions", timeout=5,
                               json={"click": unique_click_id}).json()

    delivery = wait_for_settled_delivery(sim, conversion["delivery_ids"][0])
    txn = conversion["conversion_id"]
    assert delivery["status"] == "delivered"
    assert delivery["url"] == (f"{receiver.url}/postback?click_id=abc&payout=12.5&txn={txn}")
    assert delivery["attempts"][-1]["status_code"] == 200
    assert delivery["attempts"][-1]["response_body"] == f"ok {txn}"
    assert received[0]["args"] == {"click_id": ["abc"], "payout": ["12.5"], "txn": [txn]}
