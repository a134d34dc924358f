"""Filling a simulator database fast for the growth benchmark: a million journaled Meta events
and a hundred thousand postback deliveries, written in bulk through `simulator.store.Store`.

Going through the mocks would take hours at the mocks' own rate, so one real request is played
through an in-process simulator, and its journal row (answered, diagnosed, indexed for dedup) is
copied with a fresh event_id and a timestamp spread over the past week, in transactions of
CHUNK rows. The network side is built the same way: per delivery an issued fbclid (ad_clicks),
a click carrying it in sub1, an approved conversion, the delivery and its attempt, 95% delivered
and 5% failed after three attempts' worth of history.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator import create_app, testing_config  # noqa: E402
from simulator.app import shutdown  # noqa: E402
from simulator.clock import iso  # noqa: E402
from simulator.platforms import clickids, journal  # noqa: E402
from simulator.services import EXTENSION_KEY  # noqa: E402
from simulator.store import Store  # noqa: E402

CHUNK = 20_000
WEEK_S = 7 * 86400.0
TEMPLATE_EVENT_ID = "growth-template-event-id"
# The columns every copy shares, then the ones each copy has of its own.
SHARED = ("platform", "api", "method", "path", "query", "headers", "status", "response",
          "accepted", "fault", "findings")
OWN = ("body", "events", "received_at", "ts")
JOURNAL_COLUMNS = (*SHARED, *OWN)


def template_row(body: bytes) -> dict[str, Any]:
    """One real journal row for `body` POSTed to the mock Meta endpoint, diagnosed, with its
    JSON columns as the text the store writes."""
    app = create_app(testing_config(start_workers=False, seed_demo_offer=False))
    try:
        client = app.test_client()
        resp = client.post("/meta/v21.0/1234567890/events?access_token=bench", data=body,
                           content_type="application/json")
        if resp.status_code != 200:
            raise RuntimeError(f"the template request was refused: {resp.get_json()}")
        store = app.extensions[EXTENSION_KEY].store
        [row] = journal.search(store, platform="meta")
    finally:
        shutdown(app)
    return {k: orjson.dumps(row[k]).decode() if isinstance(row[k], dict | list) else row[k]
            for k in JOURNAL_COLUMNS}


def _chunks(total: int) -> Iterator[range]:
    for start in range(0, total, CHUNK):
        yield range(start, min(total, start + CHUNK))


def fill_journal(store: Store, template: dict[str, Any], count: int, now: float,
                 progress: Callable[[str], None]) -> None:
    """`count` accepted one-event Meta entries, oldest first, ending at `now`, each indexed in
    journal_events as journal.record indexes it."""
    first = int(store.query_one("SELECT COALESCE(MAX(id), 0) AS n FROM journal")["n"]) + 1
    shared = [template[k] for k in SHARED]
    columns = ("id", *SHARED, *OWN)
    insert = f"INSERT INTO journal ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    for block in _chunks(count):
        rows, keys = [], []
        for i in block:
            ts = now - WEEK_S * (count - i) / count
            event_id = f"growth-{i:07d}"
            rows.append((first + i, *shared, template["body"].replace(TEMPLATE_EVENT_ID, event_id),
                         template["events"].replace(TEMPLATE_EVENT_ID, event_id),
                         iso_ts(ts), ts))
            keys.append((first + i, 0, "meta", "Purchase", event_id, "data[0]", ts))
        with store.transaction():
            store.execute_many(insert, rows)
            store.execute_many("INSERT INTO journal_events (journal_id, position, platform, "
                               "event_name, event_id, field_prefix, ts) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?)", keys)
        progress(f"journal {block.stop:,}/{count:,}")


def iso_ts(ts: float) -> str:
    return iso(datetime.fromtimestamp(ts, UTC))


def fill_deliveries(store: Store, count: int, now: float,
                    progress: Callable[[str], None]) -> None:
    """`count` deliveries, each with its ad click, click, conversion and one attempt."""
    rng = random.Random(13)
    stamp = iso_ts(now)
    offer = store.insert("offers", {"name": "Growth", "landing_url": "https://shop.example.com/",
                                    "payout": 12.5, "currency": "USD", "created_at": stamp})
    postback = store.insert("postbacks", {
        "offer_id": offer, "url": "http://127.0.0.1:9/postback?click_id={sub1}&txn="
        "{conversion_id}", "created_at": stamp, "updated_at": stamp})
    base = int(store.query_one("SELECT COALESCE(MAX(id), 0) AS n FROM deliveries")["n"]) + 1
    for block in _chunks(count):
        ad_clicks, clicks, conversions, deliveries, attempts = [], [], [], [], []
        for i in block:
            n = base + i
            ts = now - WEEK_S * (count - i) / count
            when = iso_ts(ts)
            fbclid = clickids.generate("fbclid", rng)
            ad_clicks.append((n, "meta", "fbclid", fbclid, when, ts))
            clicks.append((n, uuid.UUID(int=rng.getrandbits(128)).hex, offer, fbclid,
                           "203.0.113.7", "Mozilla/5.0", "US", when, ts))
            conversion = uuid.UUID(int=rng.getrandbits(128)).hex
            conversions.append((n, conversion, n, "conversion", 12.5, "USD", "203.0.113.7",
                                "Mozilla/5.0", when, ts))
            failed = i % 20 == 0
            url = f"http://127.0.0.1:9/postback?click_id={fbclid}&txn={conversion}"
            deliveries.append((n, n, postback, url, "failed" if failed else "delivered",
                               3 if failed else 1, ts, 503 if failed else 200, when, when))
            attempts.append((n, 1, when, url, 503 if failed else 200,
                             "unavailable" if failed else "ok", 12.0,
                             "final" if failed else "success"))
        with store.transaction():
            store.execute_many("INSERT INTO ad_clicks (id, platform, kind, click_id, created_at, "
                               "ts) VALUES (?, ?, ?, ?, ?, ?)", ad_clicks)
            store.execute_many("INSERT INTO clicks (id, unique_click_id, offer_id, sub1, ip, "
                               "user_agent, country, created_at, ts) VALUES "
                               "(?, ?, ?, ?, ?, ?, ?, ?, ?)", clicks)
            store.execute_many("INSERT INTO conversions (id, conversion_id, click_id, kind, "
                               "event_name, payout, currency, ip, user_agent, created_at, ts) "
                               "VALUES (?, ?, ?, ?, 'conversion', ?, ?, ?, ?, ?, ?)",
                               conversions)
            store.execute_many("INSERT INTO deliveries (id, conversion_id, postback_id, url, "
                               "status, attempts, next_attempt_at, last_status_code, "
                               "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               deliveries)
            store.execute_many("INSERT INTO attempts (delivery_id, number, started_at, method, "
                               "url, status_code, response_body, latency_ms, outcome) VALUES "
                               "(?, ?, ?, 'GET', ?, ?, ?, ?, ?)", attempts)
        progress(f"deliveries {block.stop:,}/{count:,}")


def fill(db_path: Path, body: bytes, *, events: int, deliveries: int,
         progress: Callable[[str], None] = print) -> float:
    """Fill `db_path` (made if missing); returns the seconds it took."""
    started = time.monotonic()
    template = template_row(body)
    if TEMPLATE_EVENT_ID not in template["body"] or TEMPLATE_EVENT_ID not in template["events"]:
        raise RuntimeError("the template body must carry the template event_id")
    store = Store(str(db_path))
    try:
        now = time.time()
        fill_deliveries(store, deliveries, now, progress)
        fill_journal(store, template, events, now, progress)
        store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    return time.monotonic() - started
