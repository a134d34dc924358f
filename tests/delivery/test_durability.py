"""Deliveries survive crashes and restarts, and two engines never send one twice."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from simulator.clock import ManualClock, SystemClock
from simulator.delivery_queue import ENGINE_STALE_S
from simulator.store import Store


def test_a_delivery_held_by_a_crashed_worker_is_sent_once_its_lease_expires(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock, delivery_timeout=2.0)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
    lease = clock.time() + 14.0  # what a claim leaves behind: 2 x timeout + margin
    store.update("deliveries", delivery_id, {"lease_until": lease})

    assert engine.run_due() == 0
    clock.advance(seconds=14.0)
    assert engine.run_due() == 1

    assert rig.delivery(store, delivery_id)["status"] == "delivered"


def test_pending_deliveries_resume_after_a_restart(rig, receiver, tmp_path: Path) -> None:
    db = str(tmp_path / "sim.db")
    clock = SystemClock()
    receiver.replies.append(rig.Reply(503))
    first_store = Store(db)
    first = rig.make_engine(first_store, clock, retry_schedule=(0.05,))
    retried = rig.enqueue(first, first_store, clock, receiver.url + "/pb?n=1")
    first.run_due()  # 503: a retry is now scheduled
    never_tried = rig.enqueue(first, first_store, clock, receiver.url + "/pb?n=2")
    first.stop()
    first_store.close()

    second_store = Store(db)
    second = rig.make_engine(second_store, clock, retry_schedule=(0.05,))
    second.start()
    try:
        settled = [second.wait_settled(i, rig.WAIT_S) for i in (retried, never_tried)]
    finally:
        second.stop()
        second_store.close()

    assert [(row["status"], row["attempts"]) for row in settled] == [
        ("delivered", 2),
        ("delivered", 1),
    ]
    assert sorted(r["uri"] for r in receiver.requests) == ["/pb?n=1", "/pb?n=1", "/pb?n=2"]


def test_two_engines_on_one_database_never_send_the_same_delivery_twice(
    rig, receiver, tmp_path: Path
) -> None:
    db = str(tmp_path / "sim.db")
    clock = SystemClock()
    stores = [Store(db), Store(db)]
    engines = [rig.make_engine(s, clock, delivery_workers=3) for s in stores]
    ids = [rig.enqueue(engines[0], stores[0], clock, f"{receiver.url}/pb?n={n}") for n in range(30)]
    for engine in engines:
        engine.start()
    try:
        settled = [engines[0].wait_settled(i, rig.WAIT_S) for i in ids]
    finally:
        for engine, db_store in zip(engines, stores, strict=True):
            engine.stop()
            db_store.close()

    assert {row["status"] for row in settled} == {"delivered"}
    assert sorted(r["uri"] for r in receiver.requests) == sorted(
        f"/pb?n={n}" for n in range(30)
    )


@pytest.mark.parametrize(
    ("heartbeat_age", "sent", "status"),
    [(None, 1, "delivered"), (ENGINE_STALE_S + 1, 1, "delivered"), (0.0, 0, "pending")],
    ids=["no-heartbeat", "stale-heartbeat", "live-engine"],
)
def test_a_lease_is_taken_over_at_once_only_when_its_engine_is_dead(
    rig, receiver, store: Store, clock: ManualClock, heartbeat_age, sent, status
) -> None:
    engine = rig.make_engine(store, clock, delivery_timeout=2.0)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
    # What a killed process leaves: a lease far from expiry, owned by another engine.
    store.update("deliveries", delivery_id, {"lease_until": clock.time() + 30.0,
                                             "lease_owner": "elsewhere:4242:x"})
    if heartbeat_age is not None:
        store.insert("delivery_engines", {"owner": "elsewhere:4242:x", "pid": 4242,
                                          "heartbeat": time.time() - heartbeat_age})

    assert engine.run_due() == sent
    assert rig.delivery(store, delivery_id)["status"] == status


def test_a_database_from_before_lease_owners_gains_the_column(tmp_path: Path) -> None:
    db = str(tmp_path / "old.db")
    old = sqlite3.connect(db)
    old.execute("CREATE TABLE deliveries (id INTEGER PRIMARY KEY, conversion_id INTEGER, "
                "url TEXT, status TEXT, attempts INTEGER, next_attempt_at REAL, "
                "lease_until REAL, created_at TEXT, updated_at TEXT)")
    old.close()
    store = Store(db)
    try:
        columns = {r["name"] for r in store.query("PRAGMA table_info(deliveries)")}
    finally:
        store.close()
    assert "lease_owner" in columns
