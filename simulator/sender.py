"""The delivery engine's sender: one claimed row sent through the HTTP client (awaited on the
engine's loop, or in a thread for a synchronous client) and its answer turned into the attempt
record the queue writes (`simulator.delivery_queue.Record`).

What an answer means (retry, fail, deliver) is `simulator.retry_policy`. A delivery fired by a
network persona carries that persona's retry schedule; under a compressed (test) schedule it keeps
the persona's number of retries with the compressed waits.
"""

from __future__ import annotations

import inspect
from operator import itemgetter

from simulator.clock import Clock
from simulator.config import PRODUCTION_RETRY_SCHEDULE, SimConfig
from simulator.delivery_queue import Record, stamp
from simulator.http_client import HttpClient, HttpResult
from simulator.retry_policy import judge
from simulator.store import Row

_CLAIMED = itemgetter("id", "method", "url", "body", "content_type", "attempts",
                      "next_attempt_at", "lease_until")


class Sender:
    """Sends one claimed row and says what happened, ready to be written. The hot path: the
    clock is read as epoch seconds and each stamp formatted once (docs/performance.md)."""

    def __init__(self, http_client: HttpClient, clock: Clock, config: SimConfig) -> None:
        self.http = http_client
        fetch = getattr(http_client, "fetch", None)
        # An injected client with only a synchronous `send` runs on threads instead.
        self.is_async = inspect.iscoroutinefunction(fetch)
        self._fetch = fetch
        self._clock = clock
        self._timeout = config.delivery_timeout
        self._body_limit = config.response_body_limit
        self._schedule = tuple(config.retry_schedule)
        self._schedules: dict[str, tuple[float, ...]] = {}

    def send(self, row: Row) -> Record:
        """One attempt, in this thread."""
        started = self._clock.time()
        _, method, url, body, content_type, *_ = _CLAIMED(row)
        result = self.http.send(
            method, url, body=body.encode("utf-8") if body is not None else None,
            headers={"Content-Type": content_type} if content_type else None,
            timeout=self._timeout,
        )
        return self._record(row, started, result)

    async def fetch(self, row: Row) -> Record:
        """One attempt, on the running loop (the client must be asynchronous)."""
        assert self._fetch is not None
        started = self._clock.time()
        _, method, url, body, content_type, *_ = _CLAIMED(row)
        result = await self._fetch(
            method, url, body=body.encode("utf-8") if body is not None else None,
            headers={"Content-Type": content_type} if content_type else None,
            timeout=self._timeout,
        )
        return self._record(row, started, result)

    def _record(self, row: Row, started: float, result: HttpResult) -> Record:
        delivery_id, method, url, _, _, attempts, next_at, lease = _CLAIMED(row)
        persona_schedule = row.get("retry_schedule")
        number = attempts + 1
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
            delivery_id, number, stamp(started), method, url, status,
            result.body[: self._body_limit], result.latency_ms, result.error, verdict.outcome,
        )
        update = (delivery_id, verdict.status, number, next_at, status, error, stamp(finished),
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
