"""Data Manager answers before it diagnoses (issue 13): the answer is what Google sends at once,
attribution findings come from the analyser, and readers of the journal only see them done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from flask import Flask

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.platforms import journal
from simulator.services import EXTENSION_KEY, Services

URL = "/datamanager/v1/events:ingest"
AUTH = {"Authorization": "Bearer ya29.test-token"}


@pytest.fixture
def idle_app() -> Iterator[Flask]:
    """A simulator whose analyser thread never runs: only a reader's settle diagnoses."""
    application = create_app(testing_config(start_workers=False))
    yield application
    shutdown(application)


def request_body(services: Services, gclid: str, **changes: Any) -> dict[str, Any]:
    stamp = (services.clock.now() - timedelta(minutes=5)).astimezone(UTC)
    event = {"transactionId": "conv-1", "eventTimestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "adIdentifiers": {"gclid": gclid}, "conversionValue": 12.5, "currency": "USD",
             "eventSource": "WEB", **changes}
    return {"destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS",
                                                   "accountId": "1234567890"},
                              "productDestinationId": "987654321"}],
            "events": [event]}


def raw_entry(services: Services) -> dict[str, Any]:
    """The newest journal row as stored, without waiting for the analyser."""
    row = services.store.query_one("SELECT * FROM journal ORDER BY id DESC LIMIT 1")
    assert row is not None
    return row


def backlog(services: Services) -> list[str]:
    return [r["recipe"] for r in services.store.query("SELECT recipe FROM journal_backlog")]


def test_an_accepted_ingest_is_answered_before_its_events_are_attributed(
    idle_app: Flask, issue_gclid: Callable[..., str]
) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    gclid = issue_gclid(services)
    resp = idle_app.test_client().post(URL, json=request_body(services, gclid), headers=AUTH)
    assert resp.status_code == 200
    assert list(resp.json) == ["requestId"]
    assert raw_entry(services)["events"] == []
    assert backlog(services) == ["datamanager"]

    [entry] = journal.search(services.store, platform="datamanager")
    [event] = entry["events"]
    assert (event["event_id"], event["attribution"]["status"]) == ("conv-1", "matched")
    assert backlog(services) == []


def test_an_accepted_ingest_is_indexed_for_dedup_before_it_is_diagnosed(
    idle_app: Flask, issue_gclid: Callable[..., str]
) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    body = request_body(services, issue_gclid(services), transactionId="order-7")
    idle_app.test_client().post(URL, json=body, headers=AUTH)
    found = journal.earlier_events(services.store, "datamanager", ["order-7"], since=0)
    assert found == {("987654321", "order-7"): (raw_entry(services)["id"], "events[0]")}


def test_an_unknown_gclid_is_a_later_finding_never_an_error_in_the_answer(
    idle_app: Flask,
) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    resp = idle_app.test_client().post(URL, json=request_body(services, "not-issued-by-us"),
                                       headers=AUTH)
    assert resp.status_code == 200
    [entry] = journal.search(services.store, platform="datamanager")
    assert entry["findings"] == []
    assert [f["code"] for f in entry["events"][0]["findings"]] == ["EVENT_NOT_FOUND"]


def test_a_refused_ingest_keeps_the_answers_findings_and_gets_its_events_later(
    idle_app: Flask, issue_gclid: Callable[..., str]
) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    body = request_body(services, issue_gclid(services), eventTimestamp=None)
    del body["events"][0]["eventTimestamp"]
    resp = idle_app.test_client().post(URL, json=body, headers=AUTH)
    assert resp.status_code == 400
    answered = [v["reason"] for v in resp.json["error"]["details"][1]["fieldViolations"]]

    [entry] = journal.search(services.store, platform="datamanager")
    assert entry["accepted"] is False
    assert [f["code"] for f in entry["findings"]] == answered
    assert [e["event_id"] for e in entry["events"]] == ["conv-1"]
    assert journal.earlier_events(services.store, "datamanager", ["conv-1"], since=0) == {}


def test_an_unauthenticated_ingest_has_nothing_to_diagnose(idle_app: Flask) -> None:
    services: Services = idle_app.extensions[EXTENSION_KEY]
    resp = idle_app.test_client().post(URL, json=request_body(services, "x"))
    assert resp.status_code == 401
    assert backlog(services) == []
    assert raw_entry(services)["findings"][0]["code"] == "CREDENTIALS_MISSING"
