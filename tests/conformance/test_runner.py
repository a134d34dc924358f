"""The runner against an in-process simulator and a tiny receiver written here.

The tiny receiver forwards each postback to the Meta mock correctly, or (silent) not at all, so
the tests see both verdicts without depending on the bundled receivers.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conformance.profile import Profile, profile_from_mapping
from conformance.results import RunFinished, RunStarted, ScenarioFinished, ScenarioStarted
from conformance.runner import RunOptions, run
from conformance.scenario import load_catalogue, select
from simulator.server import BackgroundServer

QUERY = ("click_id={sub1}&source={sub2}&payout={payout_amount}&currency={offer_currency}"
         "&txn={conversion_id}&ts={timestamp}&ip={user_ip}&ua={user_agent}")


class TinyReceiver(ThreadingHTTPServer):
    """Forwards `facebook` postbacks to the Meta mock (unless silent) and answers 200."""

    daemon_threads = True

    def __init__(self, sim_url: str, silent: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sim_url = sim_url
        self.silent = silent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: TinyReceiver

    def do_GET(self) -> None:
        q = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query,
                                          keep_blank_values=True).items()}
        if not self.server.silent and q.get("source") == "facebook" and q.get("click_id"):
            ts = int(q["ts"])
            event = {
                "event_name": "Purchase", "event_time": ts, "event_id": q["txn"],
                "action_source": "website", "event_source_url": "https://shop.example.com/",
                "user_data": {"fbc": f"fb.1.{ts * 1000}.{q['click_id']}",
                              "client_ip_address": q["ip"], "client_user_agent": q["ua"]},
                "custom_data": {"value": float(q["payout"]), "currency": q["currency"]},
            }
            requests.post(f"{self.server.sim_url}/meta/v21.0/1234567890/events",
                          params={"access_token": "test-token"}, json={"data": [event]},
                          timeout=5)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def start_receiver(sim_url: str, silent: bool = False) -> TinyReceiver:
    server = TinyReceiver(sim_url, silent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def profile_at(url: str, platforms: dict | None = None) -> Profile:
    return profile_from_mapping({
        "postback_url": f"{url}/postback?{QUERY}", "click_id_sub": "sub1", "source_sub": "sub2",
        "platforms": platforms or {"meta": {"pixel_id": "1234567890"}}, "settle_seconds": 0.2,
    })


@pytest.fixture
def receiver(live_server: BackgroundServer) -> Iterator[TinyReceiver]:
    server = start_receiver(live_server.url)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_receiver(live_server: BackgroundServer) -> Iterator[TinyReceiver]:
    server = start_receiver(live_server.url, silent=True)
    yield server
    server.shutdown()
    server.server_close()


def scenarios(*ids: str) -> list:
    return select(load_catalogue(), ids=list(ids))


def results_of(events: list) -> dict:
    return {e.result.id: e.result for e in events if isinstance(e, ScenarioFinished)}


def test_correct_receiver_passes_the_meta_happy_path_with_evidence(
    live_server: BackgroundServer, receiver: TinyReceiver
) -> None:
    events = list(run(profile_at(receiver.url), scenarios("meta-happy-path"),
                      RunOptions(sim_url=live_server.url)))
    result = results_of(events)["meta-happy-path"]
    assert result.status == "passed", result.findings
    (delivery,) = result.evidence["deliveries"]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"][0]["url"].startswith(receiver.url)
    (entry,) = result.evidence["journal"]
    assert entry["platform"] == "meta"
    assert entry["accepted"] is True


def test_silent_receiver_fails_where_an_event_is_due_and_passes_where_none_is(
    live_server: BackgroundServer, silent_receiver: TinyReceiver
) -> None:
    events = list(run(profile_at(silent_receiver.url),
                      scenarios("meta-happy-path", "late-conversion-meta"),
                      RunOptions(sim_url=live_server.url)))
    results = results_of(events)
    happy = results["meta-happy-path"]
    assert happy.status == "failed"
    assert [f["rule"] for f in happy.findings] == ["SCN-EVENTS", "SCN-ACCEPTED"]
    assert "expected exactly one event" in happy.findings[0]["message"]
    assert results["late-conversion-meta"].status == "passed"


def test_events_arrive_in_order_and_the_summary_counts_them(
    live_server: BackgroundServer, receiver: TinyReceiver
) -> None:
    chosen = scenarios("meta-happy-path", "missing-fbclid", "tiktok-happy-path")
    events = list(run(profile_at(receiver.url), chosen, RunOptions(sim_url=live_server.url)))
    assert isinstance(events[0], RunStarted)
    assert events[0].total == 3
    assert isinstance(events[-1], RunFinished)
    started = [e.id for e in events if isinstance(e, ScenarioStarted)]
    finished = [e.result.id for e in events if isinstance(e, ScenarioFinished)]
    position = {(type(e).__name__, getattr(e, "id", None) or e.result.id): i
                for i, e in enumerate(events) if isinstance(e, ScenarioStarted | ScenarioFinished)}
    for scenario_id in started:
        assert position["ScenarioStarted", scenario_id] < position["ScenarioFinished", scenario_id]
    assert sorted(finished) == sorted(s.id for s in chosen)
    assert "tiktok-happy-path" not in started  # the profile lists meta only: skipped
    summary = events[-1].summary
    assert summary.counts() == {"passed": 2, "failed": 0, "errors": 0, "skipped": 1}
    assert [r.id for r in summary.results] == [s.id for s in chosen]


def test_unreachable_receiver_makes_every_scenario_an_error_with_one_line(
    live_server: BackgroundServer,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    events = list(run(profile_at(f"http://127.0.0.1:{port}"),
                      scenarios("meta-happy-path", "missing-fbclid"),
                      RunOptions(sim_url=live_server.url)))
    summary = events[-1].summary
    assert summary.exit_code == 2
    for result in summary.results:
        assert result.status == "error"
        assert result.error.startswith(f"receiver unreachable at 127.0.0.1:{port}")
        assert "\n" not in result.error


def test_runner_starts_its_own_simulator_when_given_no_url() -> None:
    silent = start_receiver("http://127.0.0.1:1", silent=True)
    try:
        events = list(run(profile_at(silent.url), scenarios("late-conversion-meta"),
                          RunOptions(port=0, settle_seconds=0.1)))
    finally:
        silent.shutdown()
        silent.server_close()
    assert events[0].sim_url.startswith("http://127.0.0.1:")
    assert results_of(events)["late-conversion-meta"].status == "passed"
