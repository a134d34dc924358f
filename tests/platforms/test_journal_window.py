"""`journal.search` with `since` finds the same entries whichever way it reads the journal: through
the ts index for a small window, in id order for a large one (docs/performance.md, Growth)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from simulator.clock import ManualClock
from simulator.platforms import journal
from simulator.store import Store

T0 = 1_800_000_000.0
# Entry times out of id order, as requests journaled by several processes or a clock placed in
# the past leave them.
TIMES = [T0 + 50, T0 + 10, T0 + 40, T0 + 5, T0 + 30, T0 + 60, T0 + 20, T0 + 45]
PLATFORMS = ["meta", "tiktok"] * 4


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    for ts, platform in zip(TIMES, PLATFORMS, strict=True):
        clock = ManualClock(datetime.fromtimestamp(ts, UTC))
        journal.record(db, clock, platform=platform, api="capi", method="POST", path="/x",
                       query={}, headers={}, body=f"body-{ts:.0f}", status=200, response={})
    yield db
    db.close()


def expected(since: float, until: float | None = None, platform: str | None = None,
             after_id: int = 0, limit: int = 100) -> list[int]:
    ids = [i for i, (ts, p) in enumerate(zip(TIMES, PLATFORMS, strict=True), start=1)
           if ts >= since and (until is None or ts <= until) and platform in (None, p)
           and i > after_id]
    return ids[:limit]


CASES = [
    pytest.param({"since": T0 + 25}, id="since"),
    pytest.param({"since": T0 + 25, "platform": "meta"}, id="platform-since"),
    pytest.param({"since": T0 + 8, "until": T0 + 45}, id="since-until"),
    pytest.param({"since": T0 + 8, "after_id": 3, "limit": 2}, id="since-after-id-limit"),
    pytest.param({"since": T0 + 99}, id="empty-window"),
]


@pytest.mark.parametrize("window_sort_max", [1_000, 1], ids=["small-window", "large-window"])
@pytest.mark.parametrize("filters", CASES)
def test_a_since_search_returns_the_window_in_id_order_whichever_way_it_reads(
    store: Store, monkeypatch: pytest.MonkeyPatch, window_sort_max: int, filters: dict
) -> None:
    monkeypatch.setattr(journal, "_WINDOW_SORT_MAX", window_sort_max)
    found = [e["id"] for e in journal.search(store, **filters)]
    assert found == expected(**filters)
