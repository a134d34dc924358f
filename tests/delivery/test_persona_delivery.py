"""Deliveries follow their network persona: its number of retries, and its deactivation rule."""

from __future__ import annotations

from simulator.clock import ManualClock, iso
from simulator.store import Store


def add_postback(store: Store, clock: ManualClock, network: str) -> int:
    stamp = iso(clock.now())
    return store.insert("postbacks", {"url": "http://x/{sub1}", "network": network,
                                      "created_at": stamp, "updated_at": stamp})


def test_a_persona_schedule_keeps_its_retry_count_under_a_compressed_schedule(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock, retry_schedule=(1.0,))
    for _ in range(3):
        receiver.replies.append(rig.Reply(500))
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
    store.update("deliveries", delivery_id, {"retry_schedule": "60,300,900"})

    for _ in range(4):
        assert engine.run_due() == 1
        clock.advance(seconds=1.0)

    outcomes = [a["outcome"] for a in rig.attempts(store, delivery_id)]
    assert outcomes == ["retry", "retry", "retry", "success"]


def fail_times(rig, receiver, store: Store, clock: ManualClock, network: str,
               times: int) -> list[int]:
    """Fire `times` deliveries of one postback of `network` that all fail at once; returns the
    postback's `enabled` after each."""
    engine = rig.make_engine(store, clock, retry_schedule=())
    postback = add_postback(store, clock, network)
    enabled = []
    for _ in range(times):
        receiver.replies.append(rig.Reply(404))
        delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")
        store.update("deliveries", delivery_id, {"postback_id": postback})
        engine.run_due()
        enabled.append(store.get("postbacks", postback)["enabled"])
    return enabled


def test_everflow_disables_a_postback_after_ten_consecutive_failures(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    assert fail_times(rig, receiver, store, clock, "everflow", 10) == [1] * 9 + [0]
    (row,) = store.select("postbacks")
    assert row["disabled_reason"].startswith(
        "Everflow disabled this postback after 10 consecutive failed attempts in 72 h")


def test_the_default_persona_never_disables_a_postback(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    assert fail_times(rig, receiver, store, clock, "inflektion", 12) == [1] * 12
