"""The delivery queue in SQLite: claiming due rows under a lease, recording attempts, heartbeats.

The `deliveries` table is the queue. A row is due when it is `pending`, its `next_attempt_at` has
passed and no live lease holds it. A claim is a single `UPDATE ... RETURNING` that sets
`lease_until` and `lease_owner`, so no two senders (or two engines on one database file) send the
same attempt. Each engine keeps a heartbeat in `delivery_engines`; a lease whose owner's heartbeat
is stale (the process was killed) is taken over within seconds, and any other lease left behind
expires, so the row is sent again: nothing is lost, and delivery is at least once.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from datetime import UTC, datetime

from simulator import deactivation
from simulator.liveness import dead_here, new_owner
from simulator.store import Row, Store

log = logging.getLogger(__name__)

# An engine's heartbeat (wall clock) is refreshed this often; one older than ENGINE_STALE_S means
# the engine died, and its leases are taken over at once rather than after the whole lease.
HEARTBEAT_S = 1.0
ENGINE_STALE_S = 5.0
# The dispatcher re-checks the queue at least this often, so rows added without a wake-up (another
# process where the doorbell cannot ring, a clock moved by hand, an expired lease) are still
# picked up.
MAX_IDLE_S = 1.0

_CLAIM_SQL = """
UPDATE deliveries SET lease_until = :lease, lease_owner = :owner
WHERE id IN (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= :now
      AND (lease_until IS NULL OR lease_until <= :now
           OR (lease_owner IS NOT NULL AND lease_owner != :owner AND NOT EXISTS (
               SELECT 1 FROM delivery_engines e
               WHERE e.owner = deliveries.lease_owner AND e.heartbeat >= :alive_since)))
    ORDER BY next_attempt_at, id LIMIT :limit
)
RETURNING id, method, url, body, content_type, attempts, next_attempt_at, lease_until,
    retry_schedule
"""
_HEARTBEAT_SQL = """
INSERT INTO delivery_engines (owner, pid, heartbeat) VALUES (?, ?, ?)
ON CONFLICT (owner) DO UPDATE SET heartbeat = excluded.heartbeat
"""
_NEXT_DUE_SQL = """
SELECT next_attempt_at FROM deliveries
WHERE status = 'pending' AND next_attempt_at > :now
ORDER BY next_attempt_at LIMIT 1
"""
# One statement per table per batch (the store has no executemany): a multi-row INSERT and an
# UPDATE ... FROM (VALUES ...) (SQLite 3.33+) that still checks each delivery's lease.
_INSERT_HEAD = """
INSERT INTO attempts (delivery_id, number, started_at, method, url, status_code, response_body,
    latency_ms, error, outcome)
VALUES """
_INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPDATE_HEAD = """
UPDATE deliveries SET status = v.column2, attempts = v.column3, next_attempt_at = v.column4,
    last_status_code = v.column5, last_error = v.column6, lease_until = NULL,
    updated_at = v.column7
FROM (VALUES """
_UPDATE_TAIL = """) AS v
WHERE deliveries.id = v.column1 AND deliveries.lease_until = v.column8
"""
_UPDATE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_UPDATE_ONE_SQL = """
UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status_code = ?,
    last_error = ?, lease_until = NULL, updated_at = ?
WHERE id = ? AND lease_until = ?
"""
# Rows per statement: 10 parameters each stays far below SQLite's variable limit.
WRITE_CHUNK = 200
_UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)

# One finished attempt, waiting to be written: (attempt row, delivery update, outcome). The update
# is (id, status, attempts, next_attempt_at, last_status_code, last_error, updated_at, lease).
Record = tuple[tuple[object, ...], tuple[object, ...], str]


class DeliveryQueue:
    """The queue's SQL for one engine identity (`owner`), whose leases last `lease_s`."""

    def __init__(self, store: Store, lease_s: float) -> None:
        self._store = store
        self._lease_s = lease_s
        self.owner = new_owner()

    def renew_owner(self) -> None:
        """A new identity per start, so a restarted process never mistakes a dead
        predecessor's leases for its own."""
        self.owner = new_owner()

    def claim(self, now: float, limit: int) -> list[Row]:
        """Lease due rows; each row holds only what a send needs, in `_CLAIM_SQL`'s order."""
        rows = self._store.query(_CLAIM_SQL, {
            "lease": now + self._lease_s, "now": now, "limit": limit, "owner": self.owner,
            "alive_since": time.time() - ENGINE_STALE_S,
        })
        rows.sort(key=_due_order)
        return rows

    def write(self, records: list[Record], now: float) -> None:
        """Record attempts and their deliveries' new state in one transaction."""
        lost = 0
        with self._store.transaction() as store:
            for start in range(0, len(records), WRITE_CHUNK):
                chunk = records[start:start + WRITE_CHUNK]
                store.execute(_INSERT_HEAD + ", ".join([_INSERT_ROW] * len(chunk)),
                              [value for record in chunk for value in record[0]])
                if _UPDATE_FROM:
                    sql = _UPDATE_HEAD + ", ".join([_UPDATE_ROW] * len(chunk)) + _UPDATE_TAIL
                    lost += len(chunk) - store.execute(
                        sql, [value for record in chunk for value in record[1]])
                    continue
                for record in chunk:
                    update = record[1]
                    lost += 1 - store.execute(_UPDATE_ONE_SQL, (*update[1:7], *update[0::7]))
        if lost:
            log.warning("%d deliveries lost their lease during an attempt", lost)
        failed = [record[0][0] for record in records if record[2] != "success"]
        if failed:
            deactivation.after_failures(self._store, failed, now)

    def release(self, rows: list[Row]) -> None:
        """Give claimed rows back unsent (the engine is stopping)."""
        for row in rows:
            self._store.execute(
                "UPDATE deliveries SET lease_until = NULL WHERE id = ? AND lease_until = ?",
                (row["id"], row["lease_until"]),
            )

    def seconds_until_next_due(self, now: float) -> float:
        """How long the dispatcher may sleep, at most MAX_IDLE_S."""
        row = self._store.query_one(_NEXT_DUE_SQL, {"now": now})
        if row is None:
            return MAX_IDLE_S
        return min(MAX_IDLE_S, max(0.0, row["next_attempt_at"] - now))

    def beat(self) -> None:
        """Say this engine is alive (wall-clock time: liveness is real, whatever the clock)."""
        self._store.execute(_HEARTBEAT_SQL, (self.owner, os.getpid(), time.time()))

    def prune_engines(self) -> None:
        """Forget engines silent for a day (the table would otherwise grow with restarts)."""
        self._store.execute("DELETE FROM delivery_engines WHERE heartbeat < ?",
                            (time.time() - 86400,))

    def leave(self) -> None:
        """Gone: whatever lease this engine still holds (a send past the timeout) is free."""
        self._store.execute("DELETE FROM delivery_engines WHERE owner = ?", (self.owner,))

    def forget_dead_engines(self) -> None:
        """Drop engines of this host whose process is gone, so a restart takes over their
        leases at once instead of after ENGINE_STALE_S (a reused pid just waits for that)."""
        for row in self._store.query("SELECT owner FROM delivery_engines"):
            if dead_here(row["owner"]):
                self._store.execute("DELETE FROM delivery_engines WHERE owner = ?",
                                    (row["owner"],))


def stamp(epoch: float) -> str:
    """`clock.iso()` of an epoch instant, without building an aware datetime twice."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()[:-6] + "Z"


def _due_order(row: Row) -> tuple[float, int]:
    return row["next_attempt_at"], row["id"]
