"""Redelivery replays a delivery's request as a new delivery."""

from __future__ import annotations

import pytest

from simulator.clock import ManualClock
from simulator.errors import ApiError
from simulator.store import Store


def test_redeliver_replays_the_same_request_as_a_new_delivery(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock)
    original = rig.enqueue(engine, store, clock, receiver.url + "/pb?txn=c-9", method="POST",
                       body="a=1", content_type="application/x-www-form-urlencoded")
    engine.run_due()

    replay = engine.redeliver(original)
    engine.run_due()

    row = rig.delivery(store, replay)
    source = rig.delivery(store, original)
    assert replay != original
    assert row["redelivery_of"] == original
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    for column in ("conversion_id", "postback_id", "method", "url", "body", "content_type"):
        assert row[column] == source[column]
    assert [(r["uri"], r["body"]) for r in receiver.requests] == [("/pb?txn=c-9", "a=1")] * 2


def test_redelivering_an_unknown_delivery_is_a_404(rig, store: Store, clock: ManualClock) -> None:
    with pytest.raises(ApiError) as info:
        rig.make_engine(store, clock).redeliver(12345)
    assert info.value.status == 404
