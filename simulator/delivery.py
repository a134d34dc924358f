"""Postback delivery: the engine that works the durable queue, sends and keeps the attempt log.

The queue, its leases and heartbeats are `simulator.delivery_queue`; turning a row into a request
and its answer into an attempt record is `simulator.sender`. The engine owns one thread running an
asyncio loop, where everything happens in turn: a dispatcher claims due rows, `delivery_workers`
tasks send them through the one aiohttp session, and a writer records each attempt row and the
delivery's new state, as many as have finished in one transaction (a crash before that write loses
the log line, never the postback: the lease expires and it is sent again). SQLite is called on the
loop itself: handing rows and records to other threads cost more in thread wake-ups than the
queries take (docs/performance.md). Failed attempts may disable their postback
(`simulator.deactivation`). Other processes on the same database file wake the engine through
its doorbell (`simulator.doorbell`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from simulator.clock import Clock, iso
from simulator.config import SimConfig
from simulator.delivery_queue import (
    ENGINE_STALE_S,
    HEARTBEAT_S,
    MAX_IDLE_S,
    DeliveryQueue,
    Record,
)
from simulator.doorbell import Doorbell, drain
from simulator.errors import not_found
from simulator.http_client import HttpClient
from simulator.sender import Sender
from simulator.store import Row, Store

__all__ = ["ENGINE_STALE_S", "LEASE_MARGIN_S", "DeliveryEngine"]

log = logging.getLogger(__name__)

# A lease covers waiting behind one in-flight send, the send itself (each bounded by the delivery
# timeout) and this margin for the final write.
LEASE_MARGIN_S = 10.0
# The writer lets attempts gather this long: a transaction of 20 rows costs little more than one.
WRITE_GATHER_S = 0.005


class _Run:
    """One start..stop of the engine's loop, so a restart never mixes with stragglers. Touched
    only on the loop's thread, but for `poked` (set by `wake()` from any thread)."""

    def __init__(self, workers: int, threaded: bool) -> None:
        self.loop = asyncio.new_event_loop()
        self.jobs: asyncio.Queue[Row | None] = asyncio.Queue()
        self.records: list[Record] = []
        self.poke = asyncio.Event()  # due work may have arrived
        self.slot = asyncio.Event()  # the senders are down to their last claimed rows
        self.recorded = asyncio.Event()  # records wait to be written
        self.poked = False
        self.outstanding = 0  # claimed rows queued or being sent
        self.stopping = False
        self.closing = False  # every send is over: the writer writes what is left and ends
        self.timeout = 5.0
        # A client with only a synchronous `send` (tests inject those) runs on threads.
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="delivery") if threaded \
            else None
        self.thread: threading.Thread | None = None

    def begin_stop(self, timeout: float) -> None:
        self.stopping, self.timeout = True, timeout
        self.poke.set()
        self.slot.set()


class DeliveryEngine:
    """Sends pending postbacks; state lives only in the store, so a new engine resumes work."""

    def __init__(
        self, store: Store, clock: Clock, http_client: HttpClient, config: SimConfig
    ) -> None:
        self._store = store
        self._clock = clock
        self._queue = DeliveryQueue(store, 2 * config.delivery_timeout + LEASE_MARGIN_S)
        self._sender = Sender(http_client, clock, config)
        self._workers = max(1, int(config.delivery_workers))
        # Claims run ahead of the senders by one row each, so a claim serves a batch of rows.
        self._capacity = 2 * self._workers
        self._doorbell = Doorbell(config.db_path)
        self._cond = threading.Condition()  # notified after each write, for `wait_settled`
        self._lock = threading.Lock()
        self._run: _Run | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the engine's thread: its loop claims, sends (`config.delivery_workers` in
        flight), writes attempts and keeps the heartbeat."""
        with self._lock:
            if self._run is not None:
                return
            self._queue.renew_owner()
            # Alive before the first claim: its leases must never look abandoned.
            self._queue.beat()
            self._queue.forget_dead_engines()
            run = self._run = _Run(self._workers, threaded=not self._sender.is_async)
            run.thread = threading.Thread(target=self._serve, args=(run,), name="delivery",
                                          daemon=True)
            run.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Let in-flight sends finish (bounded by `timeout`); unsent claims go back to the queue."""
        with self._lock:
            run, self._run = self._run, None
        if run is None or run.thread is None:
            return
        try:
            run.loop.call_soon_threadsafe(run.begin_stop, timeout)
        except RuntimeError:
            return  # the loop already ended
        run.thread.join(timeout + 1.0)

    def wake(self) -> None:
        """Tell the dispatcher new work may be due (call after inserting a pending delivery);
        where this process runs no engine, the doorbell tells the one that runs."""
        run = self._run
        if run is None:
            self._doorbell.ring()
        elif not run.poked:
            run.poked = True
            # Stopped meanwhile (closed loop): the next engine's first claim finds the row.
            with contextlib.suppress(RuntimeError):
                run.loop.call_soon_threadsafe(run.poke.set)

    @property
    def running(self) -> bool:
        return self._run is not None

    @property
    def http_client(self) -> HttpClient:
        """The client postbacks go out through (the app closes it on shutdown)."""
        return self._sender.http

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
        rows = self._queue.claim(self._clock.time() if now is None else now, limit=-1)
        for row in rows:
            self._queue.write([self._sender.send(row)], self._clock.time())
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

    # -- the loop --------------------------------------------------------------------------

    def _serve(self, run: _Run) -> None:
        # Listening before the first claim: a row inserted earlier is claimed, a later one rings.
        bell = self._doorbell.listen()
        try:
            if bell is not None:
                run.loop.add_reader(bell, self._rung, run, bell)
            run.loop.run_until_complete(self._main(run))
        except Exception:
            log.exception("delivery engine: its loop ended with an error")
        finally:
            if bell is not None:
                run.loop.remove_reader(bell)
                bell.close()
            run.loop.run_until_complete(run.loop.shutdown_asyncgens())
            run.loop.close()
            if run.executor is not None:
                run.executor.shutdown(wait=False, cancel_futures=True)

    async def _main(self, run: _Run) -> None:
        workers = [asyncio.create_task(self._work(run)) for _ in range(self._workers)]
        writer = asyncio.create_task(self._write_loop(run))
        heartbeat = asyncio.create_task(self._heartbeat_loop(run))
        await self._dispatch_loop(run)
        # Stopping: unsent claims go back, in-flight sends get until the timeout.
        unsent = []
        while not run.jobs.empty():
            row = run.jobs.get_nowait()
            if row is not None:
                unsent.append(row)
        self._queue.release(unsent)
        run.outstanding -= len(unsent)
        for _ in workers:
            run.jobs.put_nowait(None)
        _, late = await asyncio.wait(workers, timeout=max(0.1, run.timeout))
        for task in late:  # past its own timeout: its lease stays, so it is sent again
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        run.closing = True
        run.recorded.set()
        await writer
        heartbeat.cancel()
        await asyncio.gather(heartbeat, return_exceptions=True)
        aclose = getattr(self._sender.http, "aclose", None)
        if self._sender.is_async and aclose is not None:
            await aclose()
            await asyncio.sleep(0)  # the closed sockets' callbacks run before the loop ends
        # Gone: whatever lease it still holds (a send past the timeout) is free for others now.
        self._queue.leave()

    @staticmethod
    def _rung(run: _Run, bell: socket.socket) -> None:
        drain(bell)
        run.poke.set()

    def _claim(self, limit: int) -> tuple[list[Row], float]:
        """Due rows (leased), or none and how long the dispatcher may sleep."""
        try:
            now = self._clock.time()
            rows = self._queue.claim(now, limit=limit)
            return rows, 0.0 if rows else self._queue.seconds_until_next_due(now)
        except Exception:
            log.exception("delivery dispatcher: claiming due deliveries failed")
            return [], MAX_IDLE_S

    async def _dispatch_loop(self, run: _Run) -> None:
        while not run.stopping:
            if run.outstanding > self._workers:
                run.slot.clear()
                await run.slot.wait()
                continue
            run.poked = False
            run.poke.clear()
            rows, idle = self._claim(self._capacity - run.outstanding)
            if rows:
                run.outstanding += len(rows)
                for row in rows:
                    run.jobs.put_nowait(row)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.poke.wait(), idle)

    async def _work(self, run: _Run) -> None:
        loop = asyncio.get_running_loop()
        while (row := await run.jobs.get()) is not None:
            record: Record | None = None
            try:
                if run.executor is None:
                    record = await self._sender.fetch(row)
                else:
                    record = await loop.run_in_executor(run.executor, self._sender.send, row)
            except Exception:
                # The lease stays; the row is sent again when it expires (at least once).
                log.exception("delivery %s: attempt failed to complete", row.get("id"))
            finally:
                run.outstanding -= 1
                if run.outstanding <= self._workers:  # the dispatcher waits for this, no sooner
                    run.slot.set()
                if record is not None:
                    run.records.append(record)
                    run.recorded.set()

    async def _write_loop(self, run: _Run) -> None:
        """Write what finished within WRITE_GATHER_S, in one transaction."""
        while True:
            await run.recorded.wait()
            if not run.closing and WRITE_GATHER_S:
                await asyncio.sleep(WRITE_GATHER_S)
            run.recorded.clear()
            records, run.records = run.records, []
            if records:
                self._write(records)
                if any(r[2] == "retry" for r in records):
                    run.poke.set()
            if run.closing and not run.records:
                return

    def _write(self, records: list[Record]) -> None:
        try:
            self._queue.write(records, self._clock.time())
        except Exception:
            log.exception("delivery writer: recording %d attempts failed", len(records))
        with self._cond:
            self._cond.notify_all()

    async def _heartbeat_loop(self, run: _Run) -> None:
        last_prune = 0.0
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                self._queue.beat()
                if time.monotonic() - last_prune > 3600:
                    last_prune = time.monotonic()
                    self._queue.prune_engines()
            except Exception:
                log.exception("delivery heartbeat: could not record that this engine is alive")
