"""The analyser: diagnoses journal entries after they were answered, as Events Manager does.

A mock answers as the real API does at once (parse, validate, the errors the API returns) and
journals the request with a `journal_backlog` row naming its recipe. The analyser fills in the
entry's NormalizedEvents, attribution and findings later, off the request path. Any number of
analysers (one per process, plus readers helping) share the backlog: each claims a batch with one
`UPDATE ... RETURNING`; a claim whose process is gone (kill -9) is freed as soon as another
analyser or reader sees it, and any claim older than CLAIM_S is taken over. Readers
call `settle()`, which waits until every entry journaled so far is diagnosed, never a fixed time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from simulator.config import SimConfig
from simulator.liveness import dead_here, new_owner
from simulator.platforms import google_datamanager_ingest, meta, tiktok
from simulator.platforms.journal import SETTLE_S, analysed_by, event_keys, index_events
from simulator.store import Row, Store

log = logging.getLogger(__name__)

# Entries claimed at once: small, so a reader waiting for one entry does not wait for many.
BATCH = 32
# A claim this old (seconds) belongs to a process that died: another analyser takes it over.
CLAIM_S = 30.0
# The analyser thread's re-check when nothing woke it (entries journaled by other processes).
IDLE_S = 0.25
# While requests keep coming, the thread diagnoses in the gaps between them, as Events Manager
# shows its diagnostics after the fact: it starts once no request has come for QUIET_S, once
# DEFER_MAX requests of this process have come since its last pass, or once the first of them
# is DEFER_MAX_S old (a sustained load then shares the CPU with them again, and diagnosis is
# never more than about that far behind). A reader does not wait for the thread: settle()
# diagnoses what the reader needs in the reader's own request, a burst's backlog included.
QUIET_S = 0.05
DEFER_MAX = 2000
DEFER_MAX_S = 2.0

Diagnosis = tuple[list[dict[str, Any]], list[dict[str, Any]]]
Recipe = Callable[[Store, SimConfig, Row], Diagnosis]
RECIPES: dict[str, Recipe] = {
    "meta": meta.diagnose,
    google_datamanager_ingest.RECIPE: google_datamanager_ingest.diagnose,
    **{f"tiktok:{shape}": tiktok.diagnoser(shape) for shape in tiktok.SHAPES},
}

_CLAIM = """
UPDATE journal_backlog SET claimed_by = :owner, claimed_at = :now
WHERE journal_id IN (
    SELECT journal_id FROM journal_backlog
    WHERE journal_id <= :upto AND (claimed_by IS NULL OR claimed_at < :stale)
    ORDER BY journal_id LIMIT :limit)
RETURNING journal_id, recipe
"""


def seconds_to_defer(wakes: int, first_wake: float, last_wake: float, now: float) -> float:
    """How long the thread should still leave the CPU to requests (0: diagnose now), given the
    requests that woke it since its last pass, when the first and the latest came (monotonic)."""
    if wakes >= DEFER_MAX or now - first_wake >= DEFER_MAX_S:
        return 0.0
    return max(0.0, min(QUIET_S - (now - last_wake), DEFER_MAX_S - (now - first_wake)))


class Analyser:
    """Diagnoses backlogged journal entries, in a thread of its own and for readers."""

    def __init__(self, store: Store, config: SimConfig) -> None:
        self._store = store
        self._config = config
        self._owner = new_owner()
        self._cond = threading.Condition()
        self._wakes_since_pass = 0  # requests that woke the thread since its last pass
        self._first_wake = self._last_wake = 0.0
        self._stopping = False
        self._thread: threading.Thread | None = None
        analysed_by(store, self.settle)

    def start(self) -> None:
        if self._thread is not None:
            return
        self.release_dead_claims()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="analyser", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        """A request was journaled with a recipe: diagnose it soon."""
        with self._cond:
            self._last_wake = time.monotonic()
            self._wakes_since_pass += 1
            if self._wakes_since_pass == 1:
                self._first_wake = self._last_wake
                self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wakes_since_pass or self._stopping,
                                    timeout=IDLE_S)
                while not self._stopping and (pause := seconds_to_defer(
                        self._wakes_since_pass, self._first_wake, self._last_wake,
                        time.monotonic())):
                    self._cond.wait(pause)
                if self._stopping:
                    return
                self._wakes_since_pass = 0
            try:
                self.drain(until_stopped=True)
            except Exception:
                log.exception("the analyser failed a pass; the entries stay in the backlog")

    def drain(self, upto: int | None = None, *, until_stopped: bool = False) -> int:
        """Diagnose every claimable backlogged entry (up to journal id `upto`); returns how many.
        `until_stopped`: the thread's pass, which leaves the rest in the backlog on stop()."""
        done = 0
        while not (until_stopped and self._stopping):
            claimed = self._store.query(_CLAIM, {
                "owner": self._owner, "now": time.time(), "stale": time.time() - CLAIM_S,
                "upto": upto if upto is not None else 2**63 - 1, "limit": BATCH,
            })
            if not claimed:
                return done
            recipes = {r["journal_id"]: r["recipe"] for r in claimed}
            rows = self._store.query(
                f"SELECT * FROM journal WHERE id IN ({', '.join('?' * len(recipes))}) "
                "ORDER BY id", list(recipes))
            self._write([(row, self._diagnose(recipes[row["id"]], row)) for row in rows])
            done += len(rows)
        return done

    def release_dead_claims(self) -> int:
        """Free the claims of processes of this host that are gone, so their entries are
        diagnosed now rather than after CLAIM_S; returns how many entries were freed."""
        owners = self._store.query("SELECT DISTINCT claimed_by FROM journal_backlog "
                                   "WHERE claimed_by IS NOT NULL")
        return sum(self._store.execute("UPDATE journal_backlog SET claimed_by = NULL "
                                       "WHERE claimed_by = ?", (row["claimed_by"],))
                   for row in owners if dead_here(row["claimed_by"]))

    def _diagnose(self, recipe: str, row: Row) -> Diagnosis:
        try:
            return RECIPES[recipe](self._store, self._config, row)
        except Exception as exc:  # one bad entry must not hold every reader back
            log.exception("could not diagnose journal entry %s", row["id"])
            return [], [{"code": "diagnosis_failed", "field": None,
                         "message": f"the simulator could not diagnose this request: {exc!r}"}]

    def _write(self, done: list[tuple[Row, Diagnosis]]) -> None:
        store = self._store
        with store.transaction():
            for row, (events, findings) in done:
                if not store.execute("DELETE FROM journal_backlog WHERE journal_id = ? AND "
                                     "claimed_by = ?", (row["id"], self._owner)):
                    continue  # taken over after a stale claim: the other analyser writes it
                store.update("journal", row["id"],
                             {"events": events, "findings": [*row["findings"], *findings]})
                if row["accepted"]:
                    index_events(store, row["id"], row["platform"], row["ts"],
                                 event_keys(events))
        with self._cond:
            self._cond.notify_all()

    def settle(self, timeout: float = SETTLE_S) -> bool:
        """Wait until every entry journaled so far is diagnosed, diagnosing what no analyser
        has claimed; False when `timeout` passed first."""
        top = self._store.query_one("SELECT MAX(journal_id) AS n FROM journal_backlog")
        if top is None or top["n"] is None:
            return True
        upto = int(top["n"])
        deadline = time.monotonic() + timeout
        checked_owners = False
        while True:
            self.drain(upto)
            if self._store.query_one("SELECT 1 AS x FROM journal_backlog WHERE journal_id <= ? "
                                     "LIMIT 1", (upto,)) is None:
                return True
            if not checked_owners:  # the rest is another's: is that process still there?
                checked_owners = True
                if self.release_dead_claims():
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # The rest is claimed by another analyser: its write (here) or a re-check ends this.
            with self._cond:
                self._cond.wait(min(left, 0.01))
