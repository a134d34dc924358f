"""Postback delivery against a real receiver on 127.0.0.1: retries, final states, restarts."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.clock import Clock, ManualClock, SystemClock, iso
from simulator.config import testing_config
from simulator.delivery import DeliveryEngine
from simulator.errors import ApiError
from simulator.http_client import HttpResult
from simulator.keepalive import KeepAliveClient
from simulator.retry_policy import judge, retry_after_seconds
from simulator.server import BackgroundServer
from simulator.store import Row, Store

WAIT_S = 10.0  # upper bound for anything a test waits on; never reached when things work


@dataclass
class Reply:
    """How the receiver answers one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    hold: bool = False  # answer only once the test sets `release`
    delay: float = 0.0


class ScriptedReceiver:
    """A WSGI receiver that answers with the scripted replies in order (then 200) and records
    every request it gets."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[dict[str, Any]] = []
        self.replies: deque[Reply] = deque()
        self.release = threading.Event()
        self._cond = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        with self._cond:
            self.requests.append(
                {
                    "method": environ["REQUEST_METHOD"],
                    "uri": environ.get("RAW_URI", ""),
                    "body": body.decode("utf-8"),
                    "content_type": environ.get("CONTENT_TYPE", ""),
                }
            )
            reply = self.replies.popleft() if self.replies else Reply()
            self._cond.notify_all()
        if reply.hold:
            self.release.wait(WAIT_S)
        if reply.delay:
            time.sleep(reply.delay)  # the receiver's own slowness is the behaviour under test
        start_response(f"{reply.status} Scripted", list(reply.headers.items()))
        return [reply.body.encode("utf-8")]

    def wait_for(self, count: int) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= count, WAIT_S)


class CurrentApp:
    """Forwards to the receiver of the running test, so one server serves the whole module."""

    def __init__(self) -> None:
        self.app: ScriptedReceiver | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[CurrentApp, str]]:
    current = CurrentApp()
    with BackgroundServer(current) as running:
        yield current, running.url


@pytest.fixture
def receiver(server: tuple[CurrentApp, str]) -> Iterator[ScriptedReceiver]:
    current, url = server
    current.app = ScriptedReceiver()
    current.app.url = url
    yield current.app
    current.app.release.set()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store() -> Iterator[Store]:
    db = Store(":memory:")
    yield db
    db.close()


def make_engine(store: Store, clock: Clock, **changes: Any) -> DeliveryEngine:
    settings: dict[str, Any] = {
        "start_workers": False,
        "retry_schedule": (1.0, 2.0),
        "delivery_timeout": 2.0,
        "delivery_workers": 2,
        **changes,
    }
    return DeliveryEngine(store, clock, KeepAliveClient(), testing_config(**settings))


def add_conversion(store: Store, clock: Clock) -> int:
    """An offer, a click and a conversion: the rows a delivery refers to."""
    now = clock.now()
    stamp, ts = iso(now), now.timestamp()
    offer = store.insert(
        "offers",
        {"name": "Offer", "landing_url": "https://shop.example/", "payout": 10.0,
         "currency": "USD", "created_at": stamp},
    )
    click = store.insert(
        "clicks",
        {"unique_click_id": uuid.uuid4().hex, "offer_id": offer, "sub1": "IwAR1", "ip": "1.2.3.4",
         "user_agent": "UA", "country": "US", "created_at": stamp, "ts": ts},
    )
    return store.insert(
        "conversions",
        {"conversion_id": uuid.uuid4().hex, "click_id": click, "event_name": "purchase",
         "payout": 10.0, "currency": "USD", "ip": "1.2.3.4", "user_agent": "UA",
         "created_at": stamp, "ts": ts},
    )


def enqueue(engine: DeliveryEngine, store: Store, clock: Clock, url: str, **kw: Any) -> int:
    return engine.enqueue(add_conversion(store, clock), url, **kw)


def attempts(store: Store, delivery_id: int) -> list[Row]:
    return store.select("attempts", {"delivery_id": delivery_id}, order_by="number")


def delivery(store: Store, delivery_id: int) -> Row:
    row = store.get("deliveries", delivery_id)
    assert row is not None
    return row


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- outcomes, one synchronous pass at a time --------------------------------------------------


def test_a_2xx_answer_delivers_on_the_first_attempt(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    engine = make_engine(store, clock)
    url = receiver.url + "/postback?click_id=IwAR1&payout=10"
    delivery_id = enqueue(engine, store, clock, url)

    assert engine.run_due() == 1

    row = delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 1, 200)
    assert row["lease_until"] is None
    (first,) = attempts(store, delivery_id)
    assert first["number"] == 1
    assert first["started_at"] == iso(clock.now())
    assert (first["method"], first["url"], first["status_code"]) == ("GET", url, 200)
    assert (first["response_body"], first["error"], first["outcome"]) == ("ok", None, "success")
    assert first["latency_ms"] >= 0
    assert [r["uri"] for r in receiver.requests] == ["/postback?click_id=IwAR1&payout=10"]


def test_a_500_is_retried_on_schedule_and_then_delivered(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(Reply(500, body="boom"))
    engine = make_engine(store, clock, retry_schedule=(1.0, 2.0))
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    assert engine.run_due() == 1
    row = delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 500")
    assert row["next_attempt_at"] == clock.time() + 1.0
    assert engine.run_due() == 0  # not due yet

    clock.advance(seconds=1.0)
    assert engine.run_due() == 1

    assert delivery(store, delivery_id)["status"] == "delivered"
    made = attempts(store, delivery_id)
    assert [(a["number"], a["status_code"], a["outcome"]) for a in made] == [
        (1, 500, "retry"),
        (2, 200, "success"),
    ]
    assert attempts(store, delivery_id)[0]["response_body"] == "boom"


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [("3", 3.0), ("http-date+4", 4.0), ("3600", 5.0), ("0", 1.0), ("soon", 1.0)],
    ids=["seconds", "http-date", "capped-at-longest-wait", "shorter-than-schedule", "garbage"],
)
def test_a_429_waits_as_long_as_retry_after_asks(
    receiver: ScriptedReceiver,
    store: Store,
    clock: ManualClock,
    retry_after: str,
    expected_wait: float,
) -> None:
    if retry_after.startswith("http-date"):
        retry_after = format_datetime(clock.now() + timedelta(seconds=4), usegmt=True)
    receiver.replies.append(Reply(429, headers={"Retry-After": retry_after}))
    engine = make_engine(store, clock, retry_schedule=(1.0, 5.0))
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert delivery(store, delivery_id)["next_attempt_at"] == clock.time() + expected_wait
    clock.advance(seconds=expected_wait)
    assert engine.run_due() == 1
    assert delivery(store, delivery_id)["status"] == "delivered"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410], ids=str)
def test_a_client_error_fails_at_once_without_retries(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.append(Reply(status, body="no such thing"))
    engine = make_engine(store, clock)
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()
    clock.advance(hours=1)

    assert engine.run_due() == 0
    row = delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 1, status)
    assert [a["outcome"] for a in attempts(store, delivery_id)] == ["final"]


@pytest.mark.parametrize("status", [301, 302, 307], ids=str)
def test_a_redirect_counts_as_delivered_and_is_not_followed(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.append(Reply(status, headers={"Location": receiver.url + "/elsewhere"}))
    engine = make_engine(store, clock)
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert delivery(store, delivery_id)["status"] == "delivered"
    assert [r["uri"] for r in receiver.requests] == ["/pb"]


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429], ids=str)
def test_retryable_answers_fail_once_every_attempt_is_used(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.extend(Reply(status) for _ in range(3))
    engine = make_engine(store, clock, retry_schedule=(1.0, 2.0))
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    for _ in range(3):
        assert engine.run_due() == 1
        clock.advance(seconds=2.0)

    assert engine.run_due() == 0
    assert delivery(store, delivery_id)["status"] == "failed"
    assert [a["outcome"] for a in attempts(store, delivery_id)] == ["retry", "retry", "final"]
    assert len(receiver.requests) == 3


def test_a_refused_connection_is_retried_then_failed(store: Store, clock: ManualClock) -> None:
    engine = make_engine(store, clock, retry_schedule=(1.0, 1.0))
    delivery_id = enqueue(engine, store, clock, f"http://127.0.0.1:{closed_port()}/pb")

    for _ in range(3):
        assert engine.run_due() == 1
        clock.advance(seconds=1.0)

    row = delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 3, None)
    assert "connection failed" in row["last_error"]
    made = attempts(store, delivery_id)
    assert [a["outcome"] for a in made] == ["retry", "retry", "final"]
    assert all(a["status_code"] is None and "Connection refused" in a["error"] for a in made)


def test_a_url_that_cannot_be_requested_fails_without_retries(
    store: Store, clock: ManualClock
) -> None:
    engine = make_engine(store, clock)
    delivery_id = enqueue(engine, store, clock, "http://127.0.0.1:99999/pb")

    engine.run_due()

    row = delivery(store, delivery_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"].startswith("invalid URL")


def test_a_post_delivery_sends_its_body_and_content_type(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    engine = make_engine(store, clock)
    body = '{"sub1":"IwAR1","payout_amount":"10"}'
    enqueue(engine, store, clock, receiver.url + "/pb", method="post", body=body,
            content_type="application/json")

    engine.run_due()

    (request,) = receiver.requests
    assert (request["method"], request["body"]) == ("POST", body)
    assert request["content_type"] == "application/json"


def test_the_response_body_is_kept_up_to_the_configured_limit(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(Reply(200, body="x" * 100))
    engine = make_engine(store, clock, response_body_limit=16)
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert attempts(store, delivery_id)[0]["response_body"] == "x" * 16


# -- timeouts: at least once ---------------------------------------------------------------------


def test_a_receiver_answering_after_the_timeout_gets_the_postback_again(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(Reply(hold=True))
    engine = make_engine(store, clock, delivery_timeout=0.3, retry_schedule=(1.0,))
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb?txn=c-1")

    engine.run_due()  # the receiver is still holding its answer when the timeout fires
    receiver.release.set()
    clock.advance(seconds=1.0)
    engine.run_due()

    assert [r["uri"] for r in receiver.requests] == ["/pb?txn=c-1", "/pb?txn=c-1"]
    first, second = attempts(store, delivery_id)
    assert (first["outcome"], first["status_code"]) == ("retry", None)
    assert "timeout" in first["error"]
    assert (second["outcome"], second["status_code"]) == ("success", 200)
    assert delivery(store, delivery_id)["status"] == "delivered"


def test_a_receiver_answering_within_the_timeout_gets_exactly_one_postback(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(Reply(delay=0.5))
    engine = make_engine(store, clock, delivery_timeout=1.5)
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()
    clock.advance(hours=1)
    engine.run_due()

    assert len(receiver.requests) == 1
    assert delivery(store, delivery_id)["status"] == "delivered"


# -- durability and claims ---------------------------------------------------------------------


def test_a_delivery_held_by_a_crashed_worker_is_sent_once_its_lease_expires(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    engine = make_engine(store, clock, delivery_timeout=2.0)
    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")
    lease = clock.time() + 14.0  # what a claim leaves behind: 2 x timeout + margin
    store.update("deliveries", delivery_id, {"lease_until": lease})

    assert engine.run_due() == 0
    clock.advance(seconds=14.0)
    assert engine.run_due() == 1

    assert delivery(store, delivery_id)["status"] == "delivered"


def test_pending_deliveries_resume_after_a_restart(
    receiver: ScriptedReceiver, tmp_path: Path
) -> None:
    db = str(tmp_path / "sim.db")
    clock = SystemClock()
    receiver.replies.append(Reply(503))
    first_store = Store(db)
    first = make_engine(first_store, clock, retry_schedule=(0.05,))
    retried = enqueue(first, first_store, clock, receiver.url + "/pb?n=1")
    first.run_due()  # 503: a retry is now scheduled
    never_tried = enqueue(first, first_store, clock, receiver.url + "/pb?n=2")
    first.stop()
    first_store.close()

    second_store = Store(db)
    second = make_engine(second_store, clock, retry_schedule=(0.05,))
    second.start()
    try:
        settled = [second.wait_settled(i, WAIT_S) for i in (retried, never_tried)]
    finally:
        second.stop()
        second_store.close()

    assert [(row["status"], row["attempts"]) for row in settled] == [
        ("delivered", 2),
        ("delivered", 1),
    ]
    assert sorted(r["uri"] for r in receiver.requests) == ["/pb?n=1", "/pb?n=1", "/pb?n=2"]


def test_two_engines_on_one_database_never_send_the_same_delivery_twice(
    receiver: ScriptedReceiver, tmp_path: Path
) -> None:
    db = str(tmp_path / "sim.db")
    clock = SystemClock()
    stores = [Store(db), Store(db)]
    engines = [make_engine(s, clock, delivery_workers=3) for s in stores]
    ids = [enqueue(engines[0], stores[0], clock, f"{receiver.url}/pb?n={n}") for n in range(30)]
    for engine in engines:
        engine.start()
    try:
        settled = [engines[0].wait_settled(i, WAIT_S) for i in ids]
    finally:
        for engine, db_store in zip(engines, stores, strict=True):
            engine.stop()
            db_store.close()

    assert {row["status"] for row in settled} == {"delivered"}
    assert sorted(r["uri"] for r in receiver.requests) == sorted(
        f"/pb?n={n}" for n in range(30)
    )


# -- worker threads ------------------------------------------------------------------------------


def test_running_workers_send_as_soon_as_a_delivery_is_enqueued(
    receiver: ScriptedReceiver, store: Store
) -> None:
    clock = SystemClock()
    engine = make_engine(store, clock)
    engine.start()
    try:
        delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")
        assert receiver.wait_for(1)
        row = engine.wait_settled(delivery_id, WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert row["status"] == "delivered"


def test_running_workers_retry_on_schedule_until_delivered(
    receiver: ScriptedReceiver, store: Store
) -> None:
    receiver.replies.extend([Reply(500), Reply(429, headers={"Retry-After": "0"})])
    clock = SystemClock()
    engine = make_engine(store, clock, retry_schedule=(0.05, 0.05, 0.05))
    engine.start()
    try:
        delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")
        row = engine.wait_settled(delivery_id, WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert (row["status"], row["attempts"]) == ("delivered", 3)
    assert [a["outcome"] for a in attempts(store, delivery_id)] == ["retry", "retry", "success"]


def test_stopping_returns_claimed_but_unsent_deliveries_to_the_queue_at_once(
    receiver: ScriptedReceiver, store: Store
) -> None:
    receiver.replies.append(Reply(hold=True))
    clock = SystemClock()
    engine = make_engine(store, clock, delivery_workers=1, delivery_timeout=0.3,
                         retry_schedule=(60.0,))
    engine.start()
    held, queued, unclaimed = (enqueue(engine, store, clock, f"{receiver.url}/pb?n={n}")
                               for n in range(3))
    assert receiver.wait_for(1)  # the only worker is stuck on the first one

    engine.stop()

    assert [delivery(store, i)["lease_until"] for i in (held, queued, unclaimed)] == [None] * 3
    assert (delivery(store, held)["status"], delivery(store, held)["attempts"]) == ("pending", 1)
    assert engine.run_due() == 2  # no lease to wait out; the first waits for its retry
    assert [delivery(store, i)["status"] for i in (queued, unclaimed)] == ["delivered"] * 2


def test_an_engine_can_be_stopped_twice_and_started_again(
    receiver: ScriptedReceiver, store: Store
) -> None:
    clock = SystemClock()
    engine = make_engine(store, clock)
    engine.start()
    engine.stop()
    engine.stop()
    assert not engine.running

    delivery_id = enqueue(engine, store, clock, receiver.url + "/pb")
    engine.start()
    try:
        row = engine.wait_settled(delivery_id, WAIT_S)
    finally:
        engine.stop()

    assert row is not None
    assert row["status"] == "delivered"


# -- redelivery ----------------------------------------------------------------------------------


def test_redeliver_replays_the_same_request_as_a_new_delivery(
    receiver: ScriptedReceiver, store: Store, clock: ManualClock
) -> None:
    engine = make_engine(store, clock)
    original = enqueue(engine, store, clock, receiver.url + "/pb?txn=c-9", method="POST",
                       body="a=1", content_type="application/x-www-form-urlencoded")
    engine.run_due()

    replay = engine.redeliver(original)
    engine.run_due()

    row = delivery(store, replay)
    source = delivery(store, original)
    assert replay != original
    assert row["redelivery_of"] == original
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    for column in ("conversion_id", "postback_id", "method", "url", "body", "content_type"):
        assert row[column] == source[column]
    assert [(r["uri"], r["body"]) for r in receiver.requests] == [("/pb?txn=c-9", "a=1")] * 2


def test_redelivering_an_unknown_delivery_is_a_404(store: Store, clock: ManualClock) -> None:
    with pytest.raises(ApiError) as info:
        make_engine(store, clock).redeliver(12345)
    assert info.value.status == 404


# -- the retry policy as a pure function ---------------------------------------------------------

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SCHEDULE = (10.0, 60.0, 300.0)


@pytest.mark.parametrize(
    ("result", "number", "expected"),
    [
        (HttpResult(200), 1, ("success", "delivered", None)),
        (HttpResult(204), 4, ("success", "delivered", None)),
        (HttpResult(302), 1, ("success", "delivered", None)),
        (HttpResult(500), 1, ("retry", "pending", 10.0)),
        (HttpResult(503), 3, ("retry", "pending", 300.0)),
        (HttpResult(503), 4, ("final", "failed", None)),
        (HttpResult(None, error="timeout", timed_out=True), 2, ("retry", "pending", 60.0)),
        (HttpResult(None, error="refused"), 1, ("retry", "pending", 10.0)),
        (HttpResult(None, error="invalid URL", fatal=True), 1, ("final", "failed", None)),
        (HttpResult(404), 1, ("final", "failed", None)),
        (HttpResult(422), 1, ("final", "failed", None)),
        (HttpResult(429, headers={"retry-after": "120"}), 1, ("retry", "pending", 120.0)),
        (HttpResult(429, headers={"Retry-After": "9999"}), 1, ("retry", "pending", 300.0)),
    ],
    ids=[
        "200", "204-any-attempt", "302", "500-first", "503-last-retry", "503-exhausted",
        "timeout", "refused", "fatal-url", "404", "422", "429-retry-after", "429-capped",
    ],
)
def test_judge_classifies_each_attempt(
    result: HttpResult, number: int, expected: tuple[str, str, float | None]
) -> None:
    verdict = judge(result, number, SCHEDULE, NOW)
    assert (verdict.outcome, verdict.status, verdict.retry_in) == expected


def test_with_no_retry_schedule_the_first_failure_is_final() -> None:
    assert judge(HttpResult(500), 1, (), NOW).status == "failed"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-1", None),
        ("", None),
        (None, None),
        ("later", None),
        ("Sun, 01 Nov 2026 12:00:30 GMT", 30.0),
        ("Sun, 01 Nov 2026 11:00:00 GMT", 0.0),
    ],
    ids=["int", "spaces", "fraction", "negative", "empty", "absent", "word", "date", "past-date"],
)
def test_retry_after_reads_seconds_or_an_http_date(
    value: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(value, NOW) == seconds
