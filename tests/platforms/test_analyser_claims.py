"""The analyser after a crash: entries claimed by a process that was killed are diagnosed as soon
as a reader or a new analyser sees that the process is gone, not after the claim goes stale."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import Flask

from simulator import create_app, liveness, testing_config
from simulator.app import shutdown
from simulator.platforms.analyser import CLAIM_S
from simulator.services import EXTENSION_KEY, Services

META_URL = "/meta/v21.0/1234567890/events?access_token=EAAGtoken0123456789"


def send_event(app: Flask) -> None:
    services: Services = app.extensions[EXTENSION_KEY]
    event = {"event_name": "Purchase", "event_time": int(services.clock.time()) - 60,
             "action_source": "website", "event_id": "e-1",
             "event_source_url": "https://shop.example/thanks",
             "custom_data": {"value": 9.5, "currency": "EUR"},
             "user_data": {"client_ip_address": "198.18.0.1", "client_user_agent": "Mozilla/5.0"}}
    resp = app.test_client().post(META_URL, json={"data": [event]})
    assert resp.status_code == 200, resp.json


@pytest.fixture
def idle_app() -> Iterator[Flask]:
    """A simulator whose analyser thread never runs: only a reader's settle diagnoses."""
    application = create_app(testing_config(start_workers=False))
    yield application
    shutdown(application)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    return proc.pid


def claim_everything(services: Services, owner: str) -> None:
    services.store.execute("UPDATE journal_backlog SET claimed_by = ?, claimed_at = ?",
                           (owner, services.clock.time()))


def test_an_owner_is_dead_only_when_its_process_on_this_host_is_gone() -> None:
    host = socket.gethostname()
    assert liveness.dead_here(f"{host}:{dead_pid()}:abc")
    assert not liveness.dead_here(f"{host}:{os.getpid()}:abc")  # this very process
    assert not liveness.dead_here(f"other-host.example:{dead_pid()}:abc")
    assert not liveness.dead_here("not an owner")
    assert liveness.new_owner().startswith(f"{host}:{os.getpid()}:")


def test_a_reader_diagnoses_entries_a_killed_process_had_claimed(idle_app: Flask) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    send_event(idle_app)
    claim_everything(services, f"{socket.gethostname()}:{dead_pid()}:killed")

    # settle() gives up after `timeout`: far shorter than CLAIM_S, so only the takeover can pass.
    assert services.analyser.settle(timeout=CLAIM_S / 10)
    entry = idle_app.test_client().get("/api/journal").json["items"][0]
    assert entry["events"][0]["event_id"] == "e-1"


def test_a_live_process_keeps_its_claim_until_it_goes_stale(idle_app: Flask) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    send_event(idle_app)
    claim_everything(services, f"{socket.gethostname()}:{os.getppid()}:alive")

    assert services.analyser.release_dead_claims() == 0
    assert not services.analyser.settle(timeout=0.2)
