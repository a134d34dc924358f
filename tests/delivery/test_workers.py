"""Worker threads send deliveries as they are due and stop without losing any."""

from __future__ import annotations

from simulator.clock import SystemClock
from simulator.store import Store


def test_running_workers_send_as_soon_as_a_delivery_is_enqueued(
    rig, receiver, store: Store
) -> None:
    clock = SystemClock()
    engine = rig.make_engine(store, clock)
    engine.start()
    try:
        delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
        assert receiver.wait_for(1)
        row = engine.wait_settled(delivery_id, rig.WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert row["status"] == "delivered"


def test_running_workers_retry_on_schedule_until_delivered(rig, receiver, store: Store) -> None:
    receiver.replies.extend([rig.Reply(500), rig.Reply(429, headers={"Retry-After": "0"})])
    clock = SystemClock()
    engine = rig.make_engine(store, clock, retry_schedule=(0.05, 0.05, 0.05))
    engine.start()
    try:
        delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
        row = engine.wait_settled(delivery_id, rig.WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert [a["outcome"] for a in rig.attempts(store, delivery_id)] == ["retry", "retry", "success"]


def test_stopping_returns_claimed_but_unsent_deliveries_to_the_queue_at_once(
    rig, receiver, store: Store
) -> None:
    receiver.replies.append(rig.Reply(hold=True))
    clock = SystemClock()
    engine = rig.make_engine(store, clock, delivery_workers=1, delivery_timeout=0.3,
                         retry_schedule=(60.0,))
    engine.start()
    held, queued, unclaimed = (rig.enqueue(engine, store, clock, f"{receiver.url}/pb?n={n}")
                               for n in range(3))
    assert receiver.wait_for(1)  # the only worker is stuck on the first one

    engine.stop()

    assert [rig.delivery(store, i)["lease_until"] for i in (held, queued, unclaimed)] == [None] * 3
    assert (rig.delivery(store, held)["status"], rig.delivery(store, held)["attempts"]) == (
        "pending", 1)
    assert engine.run_due() == 2  # no lease to wait out; the first waits for its retry
    assert [rig.delivery(store, i)["status"] for i in (queued, unclaimed)] == ["delivered"] * 2


def test_an_engine_can_be_stopped_twice_and_started_again(rig, receiver, store: Store) -> None:
    clock = SystemClock()
    engine = rig.make_engine(store, clock)
    engine.start()
    engine.stop()
    engine.stop()
    assert not engine.running

    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
    engine.start()
    try:
        row = engine.wait_settled(delivery_id, rig.WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert row["status"] == "delivered"
