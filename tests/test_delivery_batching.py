"""The delivery writer's batched statements and the trimmed send path keep every behaviour:
one attempt row per attempt, the delivery's new state, the lease check, the exact stamps."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from simulator import delivery_queue
from simulator.clock import ManualClock, iso
from simulator.config import testing_config
from simulator.delivery import DeliveryEngine
from simulator.http_client import HttpResult
from simulator.retry_policy import judge
from simulator.store import Row, Store


class ScriptedClient:
    """An HttpClient that answers from a script (then 200) and records what it was asked."""

    def __init__(self, *replies: HttpResult) -> None:
        self.replies = deque(replies)
        self.sent: list[tuple[str, str, bytes | None, dict[str, str] | None]] = []

    def send(self, method: str, url: str, *, body: bytes | None = None,
             headers: dict[str, str] | None = None, timeout: float = 10.0) -> HttpResult:
        self.sent.append((method, url, body, headers))
        return self.replies.popleft() if self.replies else HttpResult(200, body="ok")


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def engine_for(store: Store, clock: ManualClock, client: ScriptedClient) -> DeliveryEngine:
    config = testing_config(start_workers=False, retry_schedule=(1.0, 2.0), delivery_workers=2)
    return DeliveryEngine(store, clock, client, config)


def add_deliveries(store: Store, clock: ManualClock, engine: DeliveryEngine, count: int,
                   **kw: Any) -> list[int]:
    stamp, ts = iso(clock.now()), clock.time()
    offer = store.insert("offers", {"name": "Offer", "landing_url": "https://shop.example/",
                                    "payout": 10.0, "currency": "USD", "created_at": stamp})
    ids = []
    for n in range(count):
        click = store.insert("clicks", {
            "unique_click_id": uuid.uuid4().hex, "offer_id": offer, "sub1": "IwAR1",
            "ip": "1.2.3.4", "user_agent": "UA", "country": "US", "created_at": stamp, "ts": ts})
        conversion = store.insert("conversions", {
            "conversion_id": uuid.uuid4().hex, "click_id": click, "event_name": "purchase",
            "payout": 10.0, "currency": "USD", "ip": "1.2.3.4", "user_agent": "UA",
            "created_at": stamp, "ts": ts})
        ids.append(engine.enqueue(conversion, f"http://127.0.0.1:9/pb?n={n}", **kw))
    return ids


def attempts(store: Store, delivery_id: int) -> list[Row]:
    return store.select("attempts", {"delivery_id": delivery_id}, order_by="number")


def test_a_claimed_row_carries_only_what_a_send_needs(store, clock) -> None:
    engine = engine_for(store, clock, ScriptedClient())
    add_deliveries(store, clock, engine, 2)

    rows = engine._queue.claim(clock.time(), limit=-1)

    assert [set(r) for r in rows] == [{"id", "method", "url", "body", "content_type", "attempts",
                                       "next_attempt_at", "lease_until", "retry_schedule"}] * 2
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


@pytest.mark.parametrize("chunk", [2, 200], ids=["several-statements", "one-statement"])
@pytest.mark.parametrize("update_from", [True, False], ids=["update-from", "row-by-row"])
def test_a_batch_records_every_attempt_and_every_deliverys_new_state(
    store, clock, monkeypatch, chunk: int, update_from: bool
) -> None:
    monkeypatch.setattr(delivery_queue, "WRITE_CHUNK", chunk)
    monkeypatch.setattr(delivery_queue, "_UPDATE_FROM", update_from)
    client = ScriptedClient(HttpResult(200, body="ok"), HttpResult(500, body="boom"),
                            HttpResult(404, body="gone"), HttpResult(None, error="refused"),
                            HttpResult(204))
    engine = engine_for(store, clock, client)
    ids = add_deliveries(store, clock, engine, 5)

    rows = engine._queue.claim(clock.time(), limit=-1)
    engine._queue.write([engine._sender.send(row) for row in rows], clock.time())

    states = [store.get("deliveries", i) for i in ids]
    assert [(d["status"], d["attempts"], d["last_status_code"], d["last_error"])
            for d in states] == [("delivered", 1, 200, None), ("pending", 1, 500, "HTTP 500"),
                                 ("failed", 1, 404, "HTTP 404"), ("pending", 1, None, "refused"),
                                 ("delivered", 1, 204, None)]
    assert all(d["lease_until"] is None for d in states)
    assert states[1]["next_attempt_at"] == pytest.approx(clock.time() + 1.0)
    logged = [attempts(store, i) for i in ids]
    assert [[(a["number"], a["status_code"], a["outcome"], a["response_body"]) for a in log]
            for log in logged] == [[(1, 200, "success", "ok")], [(1, 500, "retry", "boom")],
                                   [(1, 404, "final", "gone")], [(1, None, "retry", "")],
                                   [(1, 204, "success", "")]]
    assert all(log[0]["started_at"] == iso(clock.now()) for log in logged)


def test_an_attempt_whose_lease_was_taken_over_is_logged_but_leaves_the_new_owners_state(
    store, clock
) -> None:
    engine = engine_for(store, clock, ScriptedClient(HttpResult(500, body="boom")))
    first, second = add_deliveries(store, clock, engine, 2)
    records = [engine._sender.send(row) for row in engine._queue.claim(clock.time(), limit=-1)]
    store.execute("UPDATE deliveries SET lease_until = 99 WHERE id = ?", (first,))

    engine._queue.write(records, clock.time())

    taken = store.get("deliveries", first)
    assert (taken["status"], taken["attempts"], taken["lease_until"]) == ("pending", 0, 99)
    assert store.get("deliveries", second)["status"] == "delivered"
    assert [a["status_code"] for a in attempts(store, first)] == [500]


def test_a_post_is_sent_with_its_body_and_content_type(store, clock) -> None:
    client = ScriptedClient()
    engine = engine_for(store, clock, client)
    add_deliveries(store, clock, engine, 1, method="post", body='{"a": "é"}',
                   content_type="application/json")

    assert engine.run_due() == 1

    method, _, body, headers = client.sent[0]
    assert (method, body, headers) == ("POST", '{"a": "é"}'.encode(),
                                       {"Content-Type": "application/json"})


@pytest.mark.parametrize("micros", [0, 1, 123456, 999999], ids=["whole", "one", "mid", "max"])
def test_an_epoch_stamp_reads_exactly_like_the_clocks_iso(micros: int) -> None:
    instant = datetime(2026, 11, 24, 3, 30, 5, micros, tzinfo=UTC)

    assert delivery_queue.stamp(instant.timestamp()) == iso(instant)


def test_a_retry_after_date_is_read_against_an_epoch_now_too() -> None:
    now = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
    header = {"Retry-After": format_datetime(now + timedelta(seconds=2), usegmt=True)}
    result = HttpResult(503, headers=header)

    assert judge(result, 1, (1.0, 5.0), now.timestamp()) == judge(result, 1, (1.0, 5.0), now)
    assert judge(result, 1, (1.0, 5.0), now.timestamp()).retry_in == 2.0
