"""The dedup index (`journal_events`) and the fast Meta validator keep the mock's behaviour.

Meta deduplicates on event_name + event_id within 48 hours [official:
conversions-api/deduplicate-pixel-and-server-events]; the index only makes that lookup cheap.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from flask import Flask

from simulator import create_app, testing_config
from simulator.app import shutdown
from simulator.clock import ManualClock
from simulator.platforms import attribution, journal, meta_parse
from simulator.services import EXTENSION_KEY, Services
from simulator.store import Store

URL = "/meta/v21.0/1234567890/events?access_token=EAAGtesttoken0123456789"
HOUR = 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> Iterator[Flask]:
    application = create_app(testing_config(), clock=clock)
    yield application
    shutdown(application)


def event(now: float, event_id: Any = "conv-1", **changes: Any) -> dict[str, Any]:
    """A valid Purchase; a change to None leaves that key out."""
    body: dict[str, Any] = {
        "event_name": "Purchase",
        "event_time": int(now) - 60,
        "event_id": event_id,
        "action_source": "website",
        "event_source_url": "https://shop.example/thanks",
        "user_data": {"client_user_agent": "Mozilla/5.0", "client_ip_address": "203.0.113.9"},
        "custom_data": {"value": 12.5, "currency": "USD"},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def send(client: Any, events: list[dict[str, Any]]) -> dict[str, Any]:
    """POST the events; returns the journal entry they made."""
    client.post(URL, json={"data": events})
    return client.get("/api/journal").json["items"][-1]


def codes(entry: dict[str, Any]) -> list[list[str]]:
    return [[f["code"] for f in e["findings"]] for e in entry["events"]]


def index_rows(services: Services) -> list[tuple[Any, ...]]:
    rows = services.store.query(
        "SELECT journal_id, position, platform, event_name, event_id, field_prefix "
        "FROM journal_events ORDER BY journal_id, position")
    return [tuple(r.values()) for r in rows]


def test_accepted_events_with_an_event_id_are_indexed(app, client, clock):
    entry = send(client, [event(clock.time(), "a"), event(clock.time(), 7),
                          event(clock.time(), None)])
    assert entry["accepted"] is True
    assert index_rows(app.extensions[EXTENSION_KEY]) == [
        (entry["id"], 0, "meta", "Purchase", "a", "data[0]"),
        (entry["id"], 1, "meta", "Purchase", "7", "data[1]"),
    ]


def test_rejected_request_is_not_indexed_and_does_not_deduplicate(app, client, clock):
    rejected = send(client, [event(clock.time(), "r-1", event_time=None)])
    assert rejected["accepted"] is False
    assert index_rows(app.extensions[EXTENSION_KEY]) == []
    assert codes(send(client, [event(clock.time(), "r-1")])) == [[]]


def test_duplicate_names_the_latest_earlier_entry_and_its_first_event(client, clock):
    first = send(client, [event(clock.time(), "d-1")])
    second = send(client, [event(clock.time(), "x"), event(clock.time(), "d-1"),
                           event(clock.time(), "d-1")])
    third = send(client, [event(clock.time(), "d-1")])
    assert codes(second) == [[], ["event_deduplicated"], ["event_deduplicated"]]
    assert f"journal entry {first['id']}, data[0]" in second["events"][1]["findings"][0]["message"]
    message = third["events"][0]["findings"][0]["message"]
    assert message == (f"data[0].event_id: Purchase with event_id 'd-1' was already received "
                       f"(journal entry {second['id']}, data[1]) within 48 hours; Meta keeps "
                       "the first and drops this one")


def test_integer_event_id_matches_its_string_form(client, clock):
    send(client, [event(clock.time(), 42)])
    assert codes(send(client, [event(clock.time(), "42")])) == [["event_deduplicated"]]


@pytest.mark.parametrize(("hours", "expected"), [(47, [["event_deduplicated"]]), (49, [[]])],
                         ids=["inside-48-hours", "after-48-hours"])
def test_dedup_window_is_48_hours(client, clock, hours, expected):
    send(client, [event(clock.time(), "w-1")])
    clock.advance(seconds=hours * HOUR)
    assert codes(send(client, [event(clock.time(), "w-1")])) == expected


def test_more_ids_than_one_query_holds_are_all_looked_up(client, clock):
    ids = [f"many-{i}" for i in range(journal._IDS_PER_QUERY + 5)]
    send(client, [event(clock.time(), i) for i in ids])
    again = send(client, [event(clock.time(), ids[0]), event(clock.time(), ids[-1])])
    assert codes(again) == [["event_deduplicated"], ["event_deduplicated"]]


def old_database(path: Path, events_text: str, ts: float) -> None:
    """A file as the simulator wrote it before journal_events existed."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE journal (id INTEGER PRIMARY KEY, platform TEXT NOT NULL, api TEXT NOT "
            "NULL, method TEXT NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL DEFAULT '{}', "
            "headers TEXT NOT NULL DEFAULT '{}', body TEXT NOT NULL DEFAULT '', status INTEGER "
            "NOT NULL, response TEXT NOT NULL DEFAULT '{}', accepted INTEGER NOT NULL DEFAULT 0,"
            " fault TEXT, findings TEXT NOT NULL DEFAULT '[]', events TEXT NOT NULL DEFAULT "
            "'[]', received_at TEXT NOT NULL, ts REAL NOT NULL)")
        conn.executemany(
            "INSERT INTO journal (platform, api, method, path, status, accepted, events, "
            "received_at, ts) VALUES ('meta', 'capi', 'POST', '/meta', 200, ?, ?, 'then', ?)",
            [(1, events_text, ts), (0, events_text, ts), (1, "[NaN]", ts)])


def test_database_from_before_the_index_opens_and_is_indexed_once(tmp_path):
    events = [{"event_name": "Purchase", "event_id": "old-1", "field_prefix": "data[0]"},
              {"event_name": "Purchase", "event_id": None, "field_prefix": "data[1]"}]
    old_database(tmp_path / "sim.db", json.dumps(events), 1000.0)
    store = Store(str(tmp_path / "sim.db"))
    store.execute("DELETE FROM journal_events")
    store.close()
    reopened = Store(str(tmp_path / "sim.db"))
    try:
        assert journal.earlier_events(reopened, "meta", ["old-1"], 0.0) == {}
    finally:
        reopened.close()


def test_old_entries_deduplicate_after_the_upgrade(tmp_path):
    events = [{"event_name": "Purchase", "event_id": "old-1", "field_prefix": "data[0]"}]
    old_database(tmp_path / "sim.db", json.dumps(events), 1000.0)
    store = Store(str(tmp_path / "sim.db"))
    try:
        assert journal.earlier_events(store, "meta", ["old-1", "new"], 0.0) == {
            ("Purchase", "old-1"): (1, "data[0]")}
        assert journal.earlier_events(store, "meta", ["old-1"], 1001.0) == {}
    finally:
        store.close()


# --- fastjsonschema decides exactly as jsonschema ---------------------------------------------

NOW = 1_700_000_000
VARIANTS = {
    "valid": {},
    "integer-event-id": {"event_id": 5},
    "float-event-time-with-zero-fraction": {"event_time": float(NOW)},
    "float-event-time": {"event_time": NOW + 0.5},
    "bool-event-time": {"event_time": True},
    "negative-event-time": {"event_time": -1},
    "empty-event-name": {"event_name": ""},
    "unknown-action-source": {"action_source": "web"},
    "non-website-without-url": {"action_source": "app", "event_source_url": None},
    "website-without-url": {"event_source_url": None},
    "empty-user-data": {"user_data": {}},
    "user-data-not-object": {"user_data": ["x"]},
    "hashed-list": {"user_data": {"em": ["a" * 64, "b" * 64]}},
    "hashed-list-with-number": {"user_data": {"em": ["a" * 64, 5]}},
    "hashable-number": {"user_data": {"ph": 5}},
    "value-as-string": {"custom_data": {"value": "12.50", "currency": "usd"}},
    "value-bad-string": {"custom_data": {"value": "12,50", "currency": "USD"}},
    "value-bool": {"custom_data": {"value": True, "currency": "USD"}},
    "currency-four-letters": {"custom_data": {"value": 1, "currency": "USDD"}},
    "purchase-without-custom-data": {"custom_data": None},
    "lead-without-custom-data": {"event_name": "Lead", "custom_data": None},
    "num-items-float": {"custom_data": {"value": 1, "currency": "USD", "num_items": 1.5}},
    "opt-out-not-bool": {"opt_out": 1},
    "dpo-not-strings": {"data_processing_options": [1]},
    "unknown-key": {"anything": {"goes": True}},
    "missing-event-name": {"event_name": None},
    "website-without-user-agent": {"user_data": {"client_ip_address": "203.0.113.9"}},
}


@pytest.mark.parametrize("changes", list(VARIANTS.values()), ids=list(VARIANTS))
def test_fast_validator_accepts_exactly_what_jsonschema_accepts(changes):
    body = event(NOW, **changes)
    try:
        meta_parse.FAST_EVENT_CHECK(body)
        fast_ok = True
    except fastjsonschema.JsonSchemaException:
        fast_ok = False
    assert fast_ok == meta_parse.EVENT_VALIDATOR.is_valid(body)


# --- a request's issued clicks are looked up at once ------------------------------------------


def test_batched_click_lookup_attributes_as_one_query_per_event_would(app, client, clock):
    services = app.extensions[EXTENSION_KEY]
    issued = client.post("/api/ad-clicks", json={"platform": "meta", "ago_seconds": 600})
    fbclid = issued.json["click_id"]
    ms = int(clock.time() * 1000)
    sent = [fbclid, fbclid.lower(), "unknownFbclid0123456789", None]
    entry = send(client, [
        event(clock.time(), f"b-{i}",
              user_data={"client_user_agent": "Mozilla/5.0",
                         **({"fbc": f"fb.1.{ms}.{value}"} if value else {})})
        for i, value in enumerate(sent)])
    one_by_one = [attribution.attribute(services.store, "fbclid", value,
                                        event_ts=e["event_time"], window_days=28)
                  for value, e in zip(sent, entry["events"], strict=True)]
    assert [e["attribution"] for e in entry["events"]] == one_by_one
    assert [o["status"] for o in one_by_one] == ["matched", "modified", "unknown", "absent"]
