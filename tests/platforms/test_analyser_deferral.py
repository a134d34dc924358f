"""The analyser thread diagnoses in the gaps between requests, as Events Manager does after the
fact, so a burst of requests keeps the CPU; readers still see every entry diagnosed."""

from __future__ import annotations

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms.analyser import DEFER_MAX, QUIET_S, deferral
from simulator.services import EXTENSION_KEY, Services


def test_a_request_just_answered_defers_the_pass_until_requests_pause():
    assert deferral(waiting=1, last_wake=100.0, now=100.0) == QUIET_S
    assert 0 < deferral(waiting=1, last_wake=100.0, now=100.0 + QUIET_S / 2) < QUIET_S


def test_a_pause_in_requests_starts_the_pass():
    assert deferral(waiting=1, last_wake=100.0, now=100.0 + 2 * QUIET_S) == 0.0
    assert deferral(waiting=0, last_wake=0.0, now=100.0) == 0.0


def test_a_long_backlog_is_diagnosed_even_while_requests_keep_coming():
    assert deferral(waiting=DEFER_MAX, last_wake=100.0, now=100.0) == 0.0
    assert deferral(waiting=DEFER_MAX - 1, last_wake=100.0, now=100.0) > 0


def test_a_reader_sees_every_entry_of_a_burst_diagnosed_at_once():
    app = create_app(testing_config())
    services: Services = app.extensions[EXTENSION_KEY]
    client = app.test_client()
    try:
        now = int(services.clock.time())
        for n in range(20):
            event = {"event_name": "Purchase", "event_time": now - 60, "event_id": f"b-{n}",
                     "action_source": "website", "event_source_url": "https://shop.example/t",
                     "custom_data": {"value": 9.5, "currency": "EUR"},
                     "user_data": {"client_ip_address": "198.18.0.1",
                                   "client_user_agent": "Mozilla/5.0"}}
            resp = client.post("/meta/v21.0/1234567890/events?access_token=EAAGtoken0123456789",
                               json={"data": [event]})
            assert resp.status_code == 200
        items = client.get("/api/journal?platform=meta").json["items"]
        assert len(items) == 20
        assert all(len(item["events"]) == 1 for item in items)
    finally:
        shutdown(app)
