"""The application factory and its error contract."""

from __future__ import annotations

import pytest

from simulator import SimConfig, create_app, testing_config
from simulator.app import shutdown


def test_fresh_simulator_has_demo_offer_one(services):
    offer = services.store.get("offers", 1)
    assert offer is not None
    assert offer["currency"] == "USD"


def test_unknown_api_path_answers_json_404(client):
    resp = client.get("/api/no-such-thing")
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"


def test_two_apps_do_not_share_state():
    first = create_app(testing_config(start_workers=False))
    second = create_app(testing_config(start_workers=False, seed_demo_offer=False))
    try:
        assert first.extensions["postback_sim"].store.count("offers") == 1
        assert second.extensions["postback_sim"].store.count("offers") == 0
    finally:
        shutdown(first)
        shutdown(second)


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="unknown simulator setting"):
        SimConfig.from_mapping({"retry_shedule": [1]})


def test_state_survives_restart_on_the_same_file(tmp_path):
    db = str(tmp_path / "sim.db")
    first = create_app(testing_config(db_path=db, start_workers=False))
    first.extensions["postback_sim"].store.insert(
        "offers",
        {"name": "x", "landing_url": "https://x.test/", "payout": 1, "currency": "EUR",
         "created_at": "2026-01-01T00:00:00Z"},
    )
    shutdown(first)
    second = create_app(testing_config(db_path=db, start_workers=False))
    try:
        assert second.extensions["postback_sim"].store.count("offers") == 2
    finally:
        shutdown(second)
