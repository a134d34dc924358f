"""Postback delivery: a durable queue in SQLite, worker threads, retries and the attempt log.

The `deliveries` table is the queue. A row is due when it is `pending`, its `next_attempt_at` has
passed and no live lease holds it. One dispatcher thread claims due rows with a single
`UPDATE ... RETURNING` that sets `lease_until` and `lease_owner`, so no two workers (or two engines
on one database file) send the same attempt. Each engine keeps a heartbeat in `delivery_engines`;
a lease whose owner's heartbeat is stale (the process was killed) is taken over within seconds,
and any other lease left behind expires, so the row is sent again: nothing is lost, and delivery
is at least once. Workers only send; one writer thread records
each attempt row and the delivery's new state, as many as have finished in one transaction (a
crash before that write loses the log line, never the postback: the lease expires and it is sent
again).

What each answer means (retry, fail, deliver) is `simulator.retry_policy`. A delivery fired by a
network persona carries that persona's retry schedule; under a compressed (test) schedule it keeps
the persona's number of retries with the compressed waits. Failed attempts may disable their
postback (`simulator.deactivation`).
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path

from simulator import deactivation
from simulator.clock import Clock, iso
from simulator.config import PRODUCTION_RETRY_SCHEDULE, SimConfig
from simulator.errors import not_found
from simulator.http_client import HttpClient
from simulator.retry_policy import judge
from simulator.store import Row, Store

log = logging.getLogger(__name__)

# A lease covers waiting behind one in-flight send, the send itself (each bounded by the delivery
# timeout) and this margin for the final write.
LEASE_MARGIN_S = 10.0
# The dispatcher re-checks the queue at least this often, so rows added without `wake()` (another
# process, a clock moved by hand, an expired lease) are still picked up.
MAX_IDLE_S = 1.0

# An engine's heartbeat (wall clock) is refreshed this often; one older than ENGINE_STALE_S means
# the engine died, and its leases are taken over at once rather than after the whole lease.
HEARTBEAT_S = 1.0
ENGINE_STALE_S = 5.0

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
_Record = tuple[tuple[object, ...], tuple[object, ...], str]


@dataclass
class _Run:
    """One start..stop generation of threads, so a restart never mixes with stragglers."""

    jobs: queue.SimpleQueue[Row | None] = field(default_factory=queue.SimpleQueue)
    records: queue.SimpleQueue[_Record | None] = field(default_factory=queue.SimpleQueue)
    outstanding: int = 0  # claimed rows queued or being sent
    stopping: bool = False
    threads: list[threading.Thread] = field(default_factory=list)


class DeliveryEngine:
    """Sends pending postbacks; state lives only in the store, so a new engine resumes work."""

    def __init__(
        self, store: Store, clock: Clock, http_client: HttpClient, config: SimConfig
    ) -> None:
        self._store = store
        self._clock = clock
        self._http = http_client
        self._config = config
        self._schedule = tuple(config.retry_schedule)
        self._schedules: dict[str, tuple[float, ...]] = {}
        self._lease_s = 2 * config.delivery_timeout + LEASE_MARGIN_S
        self._workers = max(1, int(config.delivery_workers))
        # Claims run ahead of the workers by one row each, so a claim serves a batch of rows.
        self._capacity = 2 * self._workers
        self._cond = threading.Condition()
        self._poked = False
        self._run: _Run | None = None
        # Who holds this engine's leases; a new identity per start, so a restarted process
        # never mistakes a dead predecessor's leases for its own.
        self._owner = _new_owner()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the dispatcher, `config.delivery_workers` workers and the writer (daemons)."""
        with self._cond:
            if self._run is not None:
                return
            run = self._run = _Run()
            self._poked = True
            self._owner = _new_owner()
        # Alive before the first claim: its leases must never look abandoned.
        self._beat()
        self._forget_dead_engines()
        run.threads = [
            threading.Thread(target=self._heartbeat_loop, args=(run,), name="delivery-heartbeat",
                             daemon=True),
        ] + [
            threading.Thread(
                target=self._dispatch_loop, args=(run,), name="delivery-dispatch", daemon=True
            ),
            threading.Thread(
                target=self._write_loop, args=(run,), name="delivery-writer", daemon=True
            ),
        ] + [
            threading.Thread(target=self._work_loop, args=(run,), name=f"delivery-{n}", daemon=True)
            for n in range(self._workers)
        ]
        for thread in run.threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let in-flight sends finish (bounded by `timeout`); unsent claims go back to the queue."""
        with self._cond:
            run, self._run = self._run, None
            if run is None:
                return
            run.stopping = True
            self._cond.notify_all()
        heartbeat, dispatcher, writer, *workers = run.threads
        deadline = time.monotonic() + timeout
        dispatcher.join(timeout=max(0.0, deadline - time.monotonic()))
        unsent = self._drain(run)
        self._release(unsent)
        with self._cond:
            run.outstanding -= len(unsent)
        for _ in workers:
            run.jobs.put(None)
        for thread in workers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        run.records.put(None)
        writer.join(timeout=max(0.1, deadline - time.monotonic()))
        heartbeat.join(timeout=max(0.1, deadline - time.monotonic()))
        # Gone: whatever lease it still holds (a send past the timeout) is free for others now.
        self._store.execute("DELETE FROM delivery_engines WHERE owner = ?", (self._owner,))

    def wake(self) -> None:
        """Tell the dispatcher new work may be due (call after inserting a pending delivery)."""
        with self._cond:
            self._poked = True
            self._cond.notify_all()

    @property
    def running(self) -> bool:
        return self._run is not None

    # -- queue operations ------------------------------------------------------------------

    def enqueue(
        self,
        conversion_id: int,
        url: str,
        *,
        postback_id: int | None = None,
        method: str = "GET",
        body: str | None = None,
        content_type: str | None = None,
        redelivery_of: int | None = None,
    ) -> int:
        """Insert a pending delivery due now and wake the dispatcher; returns its id."""
        now = self._clock.now()
        stamp = iso(now)
        delivery_id = self._store.insert(
            "deliveries",
            {
                "conversion_id": conversion_id,
                "postback_id": postback_id,
                "method": method.upper(),
                "url": url,
                "body": body,
                "content_type": content_type,
                "status": "pending",
                "next_attempt_at": now.timestamp(),
                "redelivery_of": redelivery_of,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
        self.wake()
        return delivery_id

    def redeliver(self, delivery_id: int) -> int:
        """Replay a delivery's exact request as a new delivery; returns the new id."""
        original = self._store.get("deliveries", delivery_id)
        if original is None:
            raise not_found("delivery", delivery_id, field="delivery_id")
        return self.enqueue(
            original["conversion_id"],
            original["url"],
            postback_id=original["postback_id"],
            method=original["method"],
            body=original["body"],
            content_type=original["content_type"],
            redelivery_of=delivery_id,
        )

    def run_due(self, now: float | None = None) -> int:
        """Send every delivery due at `now` once, in this thread; returns the attempts made."""
        rows = self._claim(self._clock.time() if now is None else now, limit=-1)
        for row in rows:
            self._write([self._send(row)])
        return len(rows)

    def wait_settled(self, delivery_id: int, timeout: float) -> Row | None:
        """Block until the delivery is delivered or failed, or `timeout` passes; returns its row.

        Woken by this engine's workers; a short re-check also sees rows another engine settles.
        """
        deadline = time.monotonic() + timeout
        while True:
            row = self._store.get("deliveries", delivery_id)
            remaining = deadline - time.monotonic()
            if row is None or row["status"] != "pending" or remaining <= 0:
                return row
            with self._cond:
                self._cond.wait(timeout=min(remaining, 0.05))

    # -- internals -------------------------------------------------------------------------

    def _send(self, row: Row) -> _Record:
        """Send one claimed delivery; what happened, ready to be written. The hot path: the
        clock is read as epoch seconds and each stamp formatted once (docs/performance.md)."""
        delivery_id, method, url, body, content_type, attempts, next_at, lease = _CLAIMED(row)
        persona_schedule = row.get("retry_schedule")
        number = attempts + 1
        started_at = _stamp(self._clock.time())
        result = self._http.send(
            method, url, body=body.encode("utf-8") if body is not None else None,
            headers={"Content-Type": content_type} if content_type else None,
            timeout=self._config.delivery_timeout,
        )
        finished = self._clock.time()
        schedule = self._schedule if persona_schedule is None else self._schedule_for(
            persona_schedule)
        verdict = judge(result, number, schedule, finished)
        if verdict.retry_in is not None:
            next_at = finished + verdict.retry_in
        status, error = result.status, result.error
        if error is None and verdict.outcome != "success":
            error = f"HTTP {status}"
        attempt = (
            delivery_id, number, started_at, method, url, status,
            result.body[: self._config.response_body_limit], result.latency_ms, result.error,
            verdict.outcome,
        )
        update = (delivery_id, verdict.status, number, next_at, status, error, _stamp(finished),
                  lease)
        return attempt, update, verdict.outcome

    def _schedule_for(self, text: str) -> tuple[float, ...]:
        """A persona's waits (a delivery's `retry_schedule`); under a compressed schedule, as
        many retries as the persona makes, with the compressed waits."""
        schedule = self._schedules.get(text)
        if schedule is None:
            waits = tuple(float(w) for w in text.split(",") if w)
            if self._schedule != PRODUCTION_RETRY_SCHEDULE:
                last = len(self._schedule) - 1
                waits = tuple(self._schedule[min(i, last)] for i in range(len(waits))
                              ) if self._schedule else ()
            self._schedules[text] = schedule = waits
        return schedule

    def _write(self, records: list[_Record]) -> None:
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
            deactivation.after_failures(self._store, failed, self._clock.time())

    def _claim(self, now: float, limit: int) -> list[Row]:
        """Lease due rows; each row holds only what `_send` needs, in `_CLAIM_SQL`'s order."""
        rows = self._store.query(_CLAIM_SQL, {
            "lease": now + self._lease_s, "now": now, "limit": limit, "owner": self._owner,
            "alive_since": time.time() - ENGINE_STALE_S,
        })
        rows.sort(key=_due_order)
        return rows

    def _beat(self) -> None:
        """Say this engine is alive (wall-clock time: liveness is real, whatever the clock)."""
        now = time.time()
        self._store.execute(_HEARTBEAT_SQL, (self._owner, os.getpid(), now))

    def _forget_dead_engines(self) -> None:
        """Drop engines of this host whose process is gone, so a restart takes over their
        leases at once instead of after ENGINE_STALE_S (a reused pid just waits for that)."""
        host = socket.gethostname()
        for row in self._store.query("SELECT owner, pid FROM delivery_engines"):
            if row["owner"].rsplit(":", 2)[0] == host and not _alive(row["pid"]):
                self._store.execute("DELETE FROM delivery_engines WHERE owner = ?",
                                    (row["owner"],))

    def _heartbeat_loop(self, run: _Run) -> None:
        last_prune = 0.0
        while True:
            with self._cond:
                self._cond.wait_for(lambda: run.stopping, timeout=HEARTBEAT_S)
                if run.stopping:
                    return
            try:
                self._beat()
                if time.monotonic() - last_prune > 3600:
                    last_prune = time.monotonic()
                    self._store.execute("DELETE FROM delivery_engines WHERE heartbeat < ?",
                                        (time.time() - 86400,))
            except Exception:
                log.exception("delivery heartbeat: could not record that this engine is alive")

    def _release(self, rows: list[Row]) -> None:
        for row in rows:
            self._store.execute(
                "UPDATE deliveries SET lease_until = NULL WHERE id = ? AND lease_until = ?",
                (row["id"], row["lease_until"]),
            )

    @staticmethod
    def _drain(run: _Run) -> list[Row]:
        rows: list[Row] = []
        while True:
            try:
                item = run.jobs.get_nowait()
            except queue.Empty:
                return rows
            if item is not None:
                rows.append(item)

    def _seconds_until_next_due(self, now: float) -> float:
        row = self._store.query_one(_NEXT_DUE_SQL, {"now": now})
        if row is None:
            return MAX_IDLE_S
        return min(MAX_IDLE_S, max(0.0, row["next_attempt_at"] - now))

    def _dispatch_loop(self, run: _Run) -> None:
        while True:
            with self._cond:
                while not run.stopping and run.outstanding > self._workers:
                    self._cond.wait()
                if run.stopping:
                    return
                free = self._capacity - run.outstanding
                self._poked = False
            try:
                now = self._clock.time()
                rows = self._claim(now, limit=free)
                idle = 0.0 if rows else self._seconds_until_next_due(now)
            except Exception:
                log.exception("delivery dispatcher: claiming due deliveries failed")
                rows, idle = [], MAX_IDLE_S
            with self._cond:
                run.outstanding += len(rows)
            for row in rows:
                run.jobs.put(row)
            if rows:
                continue
            with self._cond:
                self._cond.wait_for(lambda: self._poked or run.stopping, timeout=idle)

    def _work_loop(self, run: _Run) -> None:
        while True:
            row = run.jobs.get()
            if row is None:
                return
            try:
                if run.stopping:
                    self._release([row])
                else:
                    run.records.put(self._send(row))
            except Exception:
                # The lease stays; the row is sent again when it expires (at least once).
                log.exception("delivery %s: attempt failed to complete", row.get("id"))
            finally:
                with self._cond:
                    run.outstanding -= 1
                    self._cond.notify_all()

    def _write_loop(self, run: _Run) -> None:
        while True:
            batch = [run.records.get()]
            while True:
                try:
                    batch.append(run.records.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            if records:
                try:
                    self._write(records)
                except Exception:
                    log.exception("delivery writer: recording %d attempts failed", len(records))
                with self._cond:
                    if any(r[2] == "retry" for r in records):
                        self._poked = True
                    self._cond.notify_all()
            if len(records) < len(batch):
                return


_CLAIMED = itemgetter("id", "method", "url", "body", "content_type", "attempts",
                      "next_attempt_at", "lease_until")


def _alive(pid: int) -> bool:
    """Whether the process runs: a killed one may linger as a zombie until its parent reaps it,
    which Linux shows as state Z in /proc/<pid>/stat."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): the signal check is all there is
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def _new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _stamp(epoch: float) -> str:
    """`clock.iso()` of an epoch instant, without building an aware datetime twice."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()[:-6] + "Z"


def _due_order(row: Row) -> tuple[float, int]:
    return row["next_attempt_at"], row["id"]
