"""A delivery enqueued where no engine runs (another serve worker) wakes the engine that runs."""

from __future__ import annotations

from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from simulator import delivery_queue
from simulator.clock import SystemClock
from simulator.delivery import DeliveryEngine
from simulator.doorbell import Doorbell
from simulator.store import Store


def test_a_delivery_enqueued_where_no_engine_runs_is_sent_by_the_engine_that_runs(
    rig, receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a wake-up the running engine would only look again after an hour.
    monkeypatch.setattr(delivery_queue, "MAX_IDLE_S", 3600.0)
    heard = []
    rung = DeliveryEngine._rung
    monkeypatch.setattr(DeliveryEngine, "_rung",
                        staticmethod(lambda run, bell: (heard.append(True), rung(run, bell))))
    db = str(tmp_path / "sim.db")
    clock = SystemClock()
    with ExitStack() as stack:
        running_store = stack.enter_context(closing(Store(db)))
        other_store = stack.enter_context(closing(Store(db)))
        running = rig.make_engine(running_store, clock, db_path=db)
        other = rig.make_engine(other_store, clock, db_path=db)  # a worker without the engine
        running.start()
        stack.callback(running.stop)
        # A claim in progress may find a row by itself; between deliveries the engine idles,
        # and then only the bell wakes it within the hour. One of three must have rung it.
        rows = []
        for n in range(3):
            delivery_id = rig.enqueue(other, other_store, clock, receiver.url + f"/pb{n}")
            rows.append(running.wait_settled(delivery_id, rig.WAIT_S))

    assert [row["status"] if row else None for row in rows] == ["delivered"] * 3
    assert [r["uri"] for r in receiver.requests] == ["/pb0", "/pb1", "/pb2"]
    assert heard


def test_a_doorbell_rings_only_the_listener_of_its_own_database_file(tmp_path: Path) -> None:
    mine = Doorbell(str(tmp_path / "a.db"))
    listener = mine.listen()
    assert listener is not None
    try:
        Doorbell(str(tmp_path / "b.db")).ring()
        with pytest.raises(BlockingIOError):
            listener.recv(64)
        Doorbell(str(tmp_path / "a.db")).ring()
        assert listener.recv(64) == b"!"
    finally:
        listener.close()


def test_a_second_listener_on_one_database_file_is_refused(tmp_path: Path) -> None:
    first = Doorbell(str(tmp_path / "sim.db")).listen()
    try:
        assert first is not None
        assert Doorbell(str(tmp_path / "sim.db")).listen() is None
    finally:
        if first is not None:
            first.close()


def test_an_in_memory_database_has_no_doorbell_and_ringing_it_is_harmless() -> None:
    bell = Doorbell(":memory:")
    assert bell.listen() is None
    bell.ring()
