"""faults.take: asked by every mock request, so it must not need SQLite's write lock when no
fault is armed (serve's workers would queue on it), and must still consume armed faults once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from simulator.clock import SystemClock
from simulator.platforms import faults
from simulator.store import Store


def test_no_armed_fault_is_answered_while_another_process_holds_the_write_lock(tmp_path: Path):
    store = Store(str(tmp_path / "sim.db"))
    writer = sqlite3.connect(tmp_path / "sim.db", isolation_level=None)
    store.execute("PRAGMA busy_timeout=0")  # a write would fail at once rather than wait
    writer.execute("BEGIN IMMEDIATE")
    try:
        assert faults.take(store, "meta") is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.close()


def test_an_armed_fault_is_consumed_once_per_request(tmp_path: Path):
    store = Store(str(tmp_path / "sim.db"))
    faults.add(store, SystemClock(), platform="meta", kind="status", status=503, count=2)
    taken = [faults.take(store, "meta") for _ in range(3)]
    assert [t["status"] if t else None for t in taken] == [503, 503, None]
    assert faults.take(store, "tiktok") is None
    store.close()
