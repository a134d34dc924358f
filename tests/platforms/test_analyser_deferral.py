"""The analyser thread diagnoses in the gaps between requests, as Events Manager does after the
fact, so a burst of requests keeps the CPU; readers still see every entry diagnosed, and the
thread still catches up on its own and stops when asked."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms.analyser import DEFER_MAX, DEFER_MAX_S, QUIET_S, seconds_to_defer
from simulator.services import EXTENSION_KEY, Services

META_URL = "/meta/v21.0/1234567890/events?access_token=EAAGtoken0123456789"


def test_a_request_just_answered_defers_the_pass_until_requests_pause():
    assert seconds_to_defer(1, first_wake=100.0, last_wake=100.0, now=100.0) == QUIET_S
    assert 0 < seconds_to_defer(1, 100.0, 100.0, now=100.0 + QUIET_S / 2) < QUIET_S


def test_a_pause_in_requests_starts_the_pass():
    assert seconds_to_defer(1, 100.0, 100.0, now=100.0 + 2 * QUIET_S) == 0.0
    assert seconds_to_defer(0, 0.0, 0.0, now=100.0) == 0.0


def test_many_requests_start_the_pass_even_while_they_keep_coming():
    assert seconds_to_defer(DEFER_MAX, 100.0, 100.0, now=100.0) == 0.0
    assert seconds_to_defer(DEFER_MAX - 1, 100.0, 100.0, now=100.0) > 0


def test_a_steady_trickle_is_diagnosed_at_most_defer_max_s_late():
    first = 100.0
    now = first + DEFER_MAX_S - QUIET_S / 4  # a request every few ms since `first`
    assert seconds_to_defer(50, first, now, now) == pytest.approx(QUIET_S / 4)
    assert seconds_to_defer(50, first, first + DEFER_MAX_S, first + DEFER_MAX_S) == 0.0


def send_burst(app: Flask, count: int) -> None:
    services: Services = app.extensions[EXTENSION_KEY]
    client = app.test_client()
    now = int(services.clock.time())
    for n in range(count):
        event = {"event_name": "Purchase", "event_time": now - 60, "event_id": f"b-{n}",
                 "action_source": "website", "event_source_url": "https://shop.example/t",
                 "custom_data": {"value": 9.5, "currency": "EUR"},
                 "user_data": {"client_ip_address": "198.18.0.1",
                               "client_user_agent": "Mozilla/5.0"}}
        assert client.post(META_URL, json={"data": [event]}).status_code == 200


@pytest.fixture
def app() -> Iterator[Flask]:
    application = create_app(testing_config())
    yield application
    shutdown(application)


def test_a_reader_sees_every_entry_of_a_burst_diagnosed_at_once(app: Flask):
    send_burst(app, 20)
    items = app.test_client().get("/api/journal?platform=meta").json["items"]
    assert len(items) == 20
    assert all(len(item["events"]) == 1 for item in items)


def test_the_thread_diagnoses_a_burst_nobody_reads(app: Flask):
    send_burst(app, 20)
    store = app.extensions[EXTENSION_KEY].store
    deadline = time.monotonic() + 30  # a bound on a wait, not a timing claim
    while store.count("journal_backlog") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.count("journal_backlog") == 0


def test_stop_ends_the_thread_while_it_defers(app: Flask):
    analyser = app.extensions[EXTENSION_KEY].analyser
    thread = analyser._thread
    assert thread is not None
    assert thread.is_alive()
    analyser.wake()
    analyser.stop()
    assert not thread.is_alive()
