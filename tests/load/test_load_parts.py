"""The load feature's parts without Locust: fault specs, the postback as the network sends it,
the ledger, and the verdict over hand-made journal entries."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.load import engine
from conformance.load.engine import parse_duration
from conformance.load.faults import SYNTAX, FaultPump, FaultSpec, FaultSyntaxError, parse_fault
from conformance.load.ledger import answered_record, fired_record, read_ledger
from conformance.load.postbacks import fire, make_conversion, postback_url
from conformance.load.verdict import Tally, percentiles
from conformance.paths import PROFILES
from conformance.profile import load_profile
from simulator import macros
from simulator.http_client import HttpResult

PROFILE = load_profile(PROFILES / "reference.yaml")


@pytest.mark.parametrize(("text", "expected"), [
    ("meta:status=503,rate=0.05", FaultSpec("meta", "status", 0.05, status=503)),
    ("tiktok:status=429,retry_after=2,rate=0.1",
     FaultSpec("tiktok", "status", 0.1, status=429, retry_after=2.0)),
    ("google_ads:delay=3,rate=1", FaultSpec("google_ads", "delay", 1.0, delay=3.0)),
    ("datamanager:reset,rate=0.5", FaultSpec("datamanager", "reset", 0.5)),
    ("tiktok:throttle,rate=0.2", FaultSpec("tiktok", "throttle", 0.2)),
], ids=["status", "retry-after", "delay", "reset", "throttle"])
def test_parse_fault_reads_each_kind(text: str, expected: FaultSpec) -> None:
    assert parse_fault(text) == expected


@pytest.mark.parametrize("text", [
    "facebook:status=503,rate=0.1", "meta:status=503", "meta:status=503,rate=2",
    "meta:rate=0.1", "meta:status=503,reset,rate=0.1", "meta:status=200,rate=0.1",
    "meta:status=503,rate=0.1,colour=red",
], ids=["platform", "no-rate", "rate-above-1", "no-kind", "two-kinds", "not-an-error",
        "unknown-key"])
def test_parse_fault_refuses_what_cannot_be_armed(text: str) -> None:
    with pytest.raises(FaultSyntaxError, match="--fault"):
        parse_fault(text)


class Recorder:
    def __init__(self) -> None:
        self.armed: list[tuple[str, str, int]] = []

    def arm_fault(self, platform: str, kind: str, **settings: Any) -> dict[str, Any]:
        self.armed.append((platform, kind, settings["count"]))
        return {}


def test_fault_pump_keeps_the_armed_share_at_the_rate() -> None:
    pump, sim = FaultPump([parse_fault("meta:status=503,rate=0.1")]), Recorder()
    for _ in range(25):
        pump.observe("meta")
        pump.observe("tiktok")
    assert pump.pump(sim) == 2
    for _ in range(10):
        pump.observe("meta")
    assert pump.pump(sim) == 1
    assert sim.armed == [("meta", "status", 2), ("meta", "status", 1)]


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("1h30m", 5400),
                                               ("45", 45)])
def test_parse_duration_reads_locust_run_times(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_postback_url_is_the_networks_expansion() -> None:
    ad_click = {"id": 7, "click_id": "IwAR Ab/c+d", "kind": "fbclid"}
    conversion = make_conversion(PROFILE, "meta", ad_click, random.Random(1), now=1_700_000_000)
    url = postback_url(PROFILE, conversion)
    assert url == macros.expand(PROFILE.postback_url,
                                macros.macro_values(conversion.row, conversion.click))
    assert "click_id=IwAR%20Ab%2Fc%2Bd&source=facebook" in url
    assert f"txn={conversion.conversion_id}&ts=1700000000" in url


class Answers:
    """An HttpClient answering from a list, as the network's client would report them."""

    def __init__(self, *statuses: int | None) -> None:
        self.statuses = list(statuses)

    def send(self, method: str, url: str, **_kw: Any) -> HttpResult:
        status = self.statuses.pop(0)
        error = None if status else "timeout after 1s"
        return HttpResult(status, error=error, timed_out=not status)


def test_fire_retries_as_the_network_does_until_delivered() -> None:
    firing = fire(Answers(503, None, 200), "http://127.0.0.1:9/postback", timeout=1,
                  sleep=lambda _s: None)
    assert firing.outcome == "delivered"
    assert [a.status for a in firing.attempts] == [503, None, 200]


def test_fire_stops_at_a_final_answer() -> None:
    firing = fire(Answers(400), "http://127.0.0.1:9/postback", timeout=1, sleep=lambda _s: None)
    assert (firing.outcome, len(firing.attempts)) == ("failed", 1)


def _ledger(count: int) -> tuple[Any, list[Any]]:
    rng = random.Random(2)
    conversions = [make_conversion(PROFILE, "meta", {"id": i, "click_id": f"fbclid{i}",
                                                     "kind": "fbclid"}, rng) for i in range(count)]
    lines = []
    for conversion in conversions:
        lines.append(fired_record(conversion, 100.0))
        lines.append(answered_record(conversion.conversion_id,
                                     fire(Answers(200), "x", timeout=1)))
    return read_ledger(json.dumps(r) for r in lines), conversions


def _entry(entry_id: int, *events: dict[str, Any], accepted: bool = True) -> dict[str, Any]:
    return {"id": entry_id, "platform": "meta", "api": "capi", "status": 200 if accepted else 503,
            "accepted": accepted, "fault": None, "ts": 100.05, "response": {},
            "events": [{"index": i, **e} for i, e in enumerate(events)]}


def _event(conversion: Any, event_id: str | None = None) -> dict[str, Any]:
    return {"event_id": event_id or conversion.conversion_id,
            "click_id": {"kind": "fbclid", "value": f"fb.1.1.{conversion.ad_click['click_id']}"},
            "attribution": {"ad_click_id": conversion.ad_click["id"]}, "user": {}}


def test_verdict_names_the_lost_the_doubled_and_the_unaccounted() -> None:
    ledger, (kept, redelivered, lost, doubled) = _ledger(4)
    tally = Tally(ledger, PROFILE, sample=0.0)
    entries = [
        _entry(1, _event(kept)),
        _entry(2, _event(redelivered)), _entry(3, _event(redelivered)),  # one dedup key
        _entry(4, _event(lost), accepted=False),
        _entry(5, _event(doubled)), _entry(6, _event(doubled, "fresh-uuid")),
        _entry(7, {"event_id": "stranger", "click_id": None, "attribution": {}, "user": {}}),
    ]
    for entry in entries:
        tally.add(entry)
    report = tally.report(duration_s=1.0)
    assert (report.fired, report.ok) == (4, 2)
    assert [r["conversion_id"] for r in report.lost] == [lost.conversion_id]
    assert report.lost[0]["receiver"] == "HTTP 200"
    assert [r["conversion_id"] for r in report.doubled] == [doubled.conversion_id]
    assert report.unaccounted == [{"journal_id": 7, "platform": "meta", "event_index": 0,
                                   "event_id": "stranger"}]
    assert report.errors == {"meta answered HTTP 503": 1}
    assert report.exit_code == 1


def test_verdict_passes_when_every_conversion_has_one_accepted_event() -> None:
    ledger, conversions = _ledger(3)
    tally = Tally(ledger, PROFILE, sample=0.0)
    for index, conversion in enumerate(conversions):
        tally.add(_entry(index + 1, _event(conversion)))
    assert tally.complete()
    report = tally.report(duration_s=2.0)
    assert report.exit_code == 0
    assert report.throughput["conversions_per_s"] == 1.5
    assert report.journal_latency_ms["count"] == 3


def test_a_must_finding_in_the_sample_fails_the_verdict() -> None:
    ledger, (conversion,) = _ledger(1)
    tally = Tally(ledger, PROFILE, sample=1.0)
    tally.add(_entry(1, {**_event(conversion), "raw": {"event_name": "Purchase"}}))
    report = tally.report(duration_s=1.0)
    assert report.sample["conversions"] == 1
    assert any(f["severity"] == "must" for f in report.findings)
    assert report.exit_code == 1


def test_percentiles_are_nearest_rank() -> None:
    assert percentiles(range(1, 101)) == {"count": 100, "p50": 50, "p95": 95, "p99": 99}
    assert percentiles([]) == {"count": 0, "p50": None, "p95": None, "p99": None}


def test_cli_says_a_bad_fault_in_one_line() -> None:
    result = CliRunner().invoke(main, ["load", "--profile", str(PROFILES / "reference.yaml"),
                                       "--fault", "meta:status=503"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "postback-sim: error: --fault meta:status=503: rate, status, delay and retry_after are "
        "numbers; rate is required (" + SYNTAX + ")"]


def test_cli_without_locust_gives_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "locust_missing", lambda: engine.INSTALL_HINT)
    result = CliRunner().invoke(main, ["load", "--profile", str(PROFILES / "reference.yaml")])
    assert result.exit_code == 2
    assert result.output.strip() == f"postback-sim: error: {engine.INSTALL_HINT}"
