"""`Store.grouped`: writes of concurrent threads committed together, each returned only once it
is committed, and one failing write never taking the others with it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.store import Store

WAIT_S = 10.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(str(tmp_path / "sim.db"))
    yield db
    db.close()


def add_fault(name: str) -> Callable[[Store], int]:
    """A write: one `faults` row whose platform is `name`; returns its id."""
    def write(tx: Store) -> int:
        return tx.insert("faults", {"platform": name, "kind": "status", "remaining": 1,
                                    "created_at": "now"})
    return write


def committed(path: str) -> set[str]:
    """What another connection (another process, after a kill -9) reads."""
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT platform FROM faults")}


def run_threads(targets: list[Callable[[], Any]]) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
        assert not thread.is_alive()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_grouped_write_is_committed_when_it_returns(store: Store) -> None:
    store.grouped(add_fault("first"))
    assert committed(store.path) == {"first"}


def test_concurrent_grouped_writes_are_all_committed_each_with_its_own_id(store: Store) -> None:
    ids: dict[str, int] = {}

    def writer(name: str) -> Callable[[], None]:
        def run() -> None:
            ids[name] = store.grouped(add_fault(name))
            assert name in committed(store.path)  # durable before the caller goes on
        return run

    names = [f"w{i}" for i in range(16)]
    run_threads([writer(n) for n in names])
    assert committed(store.path) == set(names)
    assert len(set(ids.values())) == 16


def test_a_failing_write_in_a_batch_rolls_back_only_itself(store: Store) -> None:
    release = threading.Event()
    outcomes: dict[str, Any] = {}

    def leader(tx: Store) -> int:
        release.wait(WAIT_S)  # holds the batch open while the others queue behind it
        return add_fault("leader")(tx)

    def failing(tx: Store) -> int:
        add_fault("failing")(tx)
        raise ValueError("refused")

    def call(name: str, work: Callable[[Store], int]) -> Callable[[], None]:
        def run() -> None:
            try:
                outcomes[name] = store.grouped(work)
            except ValueError as exc:
                outcomes[name] = exc
        return run

    first = threading.Thread(target=call("leader", leader))
    first.start()
    wait_until(lambda: store._tx_thread is not None)
    others = [threading.Thread(target=call(n, w))
              for n, w in (("ok", add_fault("ok")), ("failing", failing))]
    for thread in others:
        thread.start()
    wait_until(lambda: len(store._group._queue) == 2)
    release.set()
    for thread in (first, *others):
        thread.join(WAIT_S)
    assert committed(store.path) == {"leader", "ok"}
    assert isinstance(outcomes["failing"], ValueError)
    assert isinstance(outcomes["ok"], int)


def test_a_grouped_write_inside_a_transaction_belongs_to_it(store: Store) -> None:
    def grouped_then_refused() -> None:
        with store.transaction():
            store.grouped(add_fault("inner"))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        grouped_then_refused()
    assert committed(store.path) == set()
