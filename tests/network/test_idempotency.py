"""Idempotency-Key on creating calls (issue 10): a retried call creates nothing twice."""

from __future__ import annotations

import threading

import pytest

from simulator import create_app, testing_config
from simulator.app import shutdown

CREATING = [
    ("/api/offers", {"name": "n", "landing_url": "https://x.test/", "payout": 1,
                     "currency": "USD"}, "offers"),
    ("/api/postbacks", {"url": "https://x.test/?c={sub1}", "offer_id": 1}, "postbacks"),
    ("/api/links", {"sub1": "a"}, "links"),
    ("/api/clicks", {"sub1": "a"}, "clicks"),
    ("/api/ad-clicks", {"platform": "meta"}, "ad_clicks"),
    ("/api/faults", {"platform": "meta", "kind": "status", "status": 503}, "faults"),
]


def test_a_retried_conversion_returns_the_first_answer_and_creates_nothing(
    client, services, click
):
    headers = {"Idempotency-Key": "conv-7f3a"}
    body = {"click": click["unique_click_id"], "payout": 3}
    first = client.post("/api/conversions", json=body, headers=headers)
    deliveries = services.store.count("deliveries")
    again = client.post("/api/conversions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert services.store.count("conversions") == 1
    assert services.store.count("deliveries") == deliveries


@pytest.mark.parametrize(("path", "body", "table"), CREATING,
                         ids=[c[0].rsplit("/", 1)[1] for c in CREATING])
def test_every_creating_call_honours_the_key(client, services, path, body, table):
    before = services.store.count(table)
    headers = {"Idempotency-Key": f"key-{table}"}
    first = client.post(path, json=body, headers=headers)
    again = client.post(path, json=body, headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert again.get_data() == first.get_data()
    assert services.store.count(table) == before + 1


def test_without_a_key_each_call_creates(client, services, click):
    body = {"click": click["unique_click_id"]}
    client.post("/api/conversions", json=body)
    client.post("/api/conversions", json=body)
    assert services.store.count("conversions") == 2


def test_a_key_reused_for_another_request_is_a_422(client, click):
    headers = {"Idempotency-Key": "k1"}
    client.post("/api/conversions", json={"click": click["unique_click_id"]}, headers=headers)
    resp = client.post("/api/conversions", json={"click": click["unique_click_id"], "payout": 9},
                       headers=headers)
    assert resp.status_code == 422
    assert resp.json["error"] == {
        "code": "idempotency_key_reused", "field": "Idempotency-Key",
        "message": "Idempotency-Key: this key was used for a different request; use a new key "
                   "for a new request"}


def test_a_refused_call_keeps_no_answer_so_a_corrected_retry_creates(client, services, click):
    headers = {"Idempotency-Key": "k2"}
    bad = client.post("/api/conversions", json={"click": "nope"}, headers=headers)
    assert bad.status_code == 404
    assert services.store.count("conversions") == 0
    good = client.post("/api/conversions", json={"click": "nope"}, headers=headers)
    assert good.status_code == 404


@pytest.mark.parametrize("key", ["", "has space", "é", "x" * 256], ids=["empty", "space",
                                                                      "non-ascii", "too-long"])
def test_a_malformed_key_is_a_400_naming_the_header(client, key):
    resp = client.post("/api/clicks", json={}, headers={"Idempotency-Key": key})
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "Idempotency-Key"


def test_the_same_key_on_another_path_is_another_call(client, services):
    headers = {"Idempotency-Key": "shared"}
    assert client.post("/api/clicks", json={}, headers=headers).status_code == 201
    assert client.post("/api/links", json={}, headers=headers).status_code == 201


def test_a_key_survives_a_restart(tmp_path):
    config = testing_config(db_path=str(tmp_path / "sim.db"), start_workers=False)
    headers = {"Idempotency-Key": "across-restart"}
    app = create_app(config)
    first = app.test_client().post("/api/clicks", json={"sub1": "x"}, headers=headers)
    shutdown(app)
    app = create_app(config)
    try:
        again = app.test_client().post("/api/clicks", json={"sub1": "x"}, headers=headers)
        assert again.json == first.json
        assert app.extensions["postback_sim"].store.count("clicks") == 1
    finally:
        shutdown(app)


def test_concurrent_calls_with_one_key_create_once(app, services, click):
    body = {"click": click["unique_click_id"]}
    answers: list[int] = []

    def call() -> None:
        resp = app.test_client().post("/api/conversions", json=body,
                                      headers={"Idempotency-Key": "race"})
        answers.append(resp.status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert answers == [201] * 8
    assert services.store.count("conversions") == 1
