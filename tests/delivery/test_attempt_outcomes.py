"""What one attempt ends in: delivered, retried on schedule or failed; timeouts redeliver."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

import pytest

from simulator.clock import ManualClock, iso
from simulator.store import Store


def test_a_2xx_answer_delivers_on_the_first_attempt(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock)
    url = receiver.url + "/postback?click_id=IwAR1&payout=10"
    delivery_id = rig.enqueue(engine, store, clock, url)

    assert engine.run_due() == 1

    row = rig.delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 1, 200)
    assert row["lease_until"] is None
    (first,) = rig.attempts(store, delivery_id)
    assert first["number"] == 1
    assert first["started_at"] == iso(clock.now())
    assert (first["method"], first["url"], first["status_code"]) == ("GET", url, 200)
    assert (first["response_body"], first["error"], first["outcome"]) == ("ok", None, "success")
    assert first["latency_ms"] >= 0
    assert [r["uri"] for r in receiver.requests] == ["/postback?click_id=IwAR1&payout=10"]


def test_a_500_is_retried_on_schedule_and_then_delivered(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(rig.Reply(500, body="boom"))
    engine = rig.make_engine(store, clock, retry_schedule=(1.0, 2.0))
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    assert engine.run_due() == 1
    row = rig.delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 500")
    assert row["next_attempt_at"] == clock.time() + 1.0
    assert engine.run_due() == 0  # not due yet

    clock.advance(seconds=1.0)
    assert engine.run_due() == 1

    assert rig.delivery(store, delivery_id)["status"] == "delivered"
    made = rig.attempts(store, delivery_id)
    assert [(a["number"], a["status_code"], a["outcome"]) for a in made] == [
        (1, 500, "retry"),
        (2, 200, "success"),
    ]
    assert rig.attempts(store, delivery_id)[0]["response_body"] == "boom"


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [("3", 3.0), ("http-date+4", 4.0), ("3600", 5.0), ("0", 1.0), ("soon", 1.0)],
    ids=["seconds", "http-date", "capped-at-longest-wait", "shorter-than-schedule", "garbage"],
)
def test_a_429_waits_as_long_as_retry_after_asks(
    rig, receiver,
    store: Store,
    clock: ManualClock,
    retry_after: str,
    expected_wait: float,
) -> None:
    if retry_after.startswith("http-date"):
        retry_after = format_datetime(clock.now() + timedelta(seconds=4), usegmt=True)
    receiver.replies.append(rig.Reply(429, headers={"Retry-After": retry_after}))
    engine = rig.make_engine(store, clock, retry_schedule=(1.0, 5.0))
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert rig.delivery(store, delivery_id)["next_attempt_at"] == clock.time() + expected_wait
    clock.advance(seconds=expected_wait)
    assert engine.run_due() == 1
    assert rig.delivery(store, delivery_id)["status"] == "delivered"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410], ids=str)
def test_a_client_error_fails_at_once_without_retries(
    rig, receiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.append(rig.Reply(status, body="no such thing"))
    engine = rig.make_engine(store, clock)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()
    clock.advance(hours=1)

    assert engine.run_due() == 0
    row = rig.delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 1, status)
    assert [a["outcome"] for a in rig.attempts(store, delivery_id)] == ["final"]


@pytest.mark.parametrize("status", [301, 302, 307], ids=str)
def test_a_redirect_counts_as_delivered_and_is_not_followed(
    rig, receiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.append(rig.Reply(status, headers={"Location": receiver.url + "/elsewhere"}))
    engine = rig.make_engine(store, clock)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert rig.delivery(store, delivery_id)["status"] == "delivered"
    assert [r["uri"] for r in receiver.requests] == ["/pb"]


@pytest.mark.parametrize("status", [500, 502, 503, 408, 429], ids=str)
def test_retryable_answers_fail_once_every_attempt_is_used(
    rig, receiver, store: Store, clock: ManualClock, status: int
) -> None:
    receiver.replies.extend(rig.Reply(status) for _ in range(3))
    engine = rig.make_engine(store, clock, retry_schedule=(1.0, 2.0))
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    for _ in range(3):
        assert engine.run_due() == 1
        clock.advance(seconds=2.0)

    assert engine.run_due() == 0
    assert rig.delivery(store, delivery_id)["status"] == "failed"
    assert [a["outcome"] for a in rig.attempts(store, delivery_id)] == ["retry", "retry", "final"]
    assert len(receiver.requests) == 3


def test_a_refused_connection_is_retried_then_failed(rig, store: Store, clock: ManualClock) -> None:
    engine = rig.make_engine(store, clock, retry_schedule=(1.0, 1.0))
    delivery_id = rig.enqueue(engine, store, clock, f"http://127.0.0.1:{rig.closed_port()}/pb")

    for _ in range(3):
        assert engine.run_due() == 1
        clock.advance(seconds=1.0)

    row = rig.delivery(store, delivery_id)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 3, None)
    assert "connection failed" in row["last_error"]
    made = rig.attempts(store, delivery_id)
    assert [a["outcome"] for a in made] == ["retry", "retry", "final"]
    assert all(a["status_code"] is None and "Connection refused" in a["error"] for a in made)


def test_a_url_that_cannot_be_requested_fails_without_retries(
    rig, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock)
    delivery_id = rig.enqueue(engine, store, clock, "http://127.0.0.1:99999/pb")

    engine.run_due()

    row = rig.delivery(store, delivery_id)
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert row["last_error"].startswith("invalid URL")


def test_a_post_delivery_sends_its_body_and_content_type(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    engine = rig.make_engine(store, clock)
    body = '{"sub1":"IwAR1","payout_amount":"10"}'
    rig.enqueue(engine, store, clock, receiver.url + "/pb", method="post", body=body,
            content_type="application/json")

    engine.run_due()

    (request,) = receiver.requests
    assert (request["method"], request["body"]) == ("POST", body)
    assert request["content_type"] == "application/json"


def test_the_response_body_is_kept_up_to_the_configured_limit(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(rig.Reply(200, body="x" * 100))
    engine = rig.make_engine(store, clock, response_body_limit=16)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()

    assert rig.attempts(store, delivery_id)[0]["response_body"] == "x" * 16


# -- timeouts: at least once ---------------------------------------------------------------------


def test_a_receiver_answering_after_the_timeout_gets_the_postback_again(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(rig.Reply(hold=True))
    engine = rig.make_engine(store, clock, delivery_timeout=0.3, retry_schedule=(1.0,))
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb?txn=c-1")

    engine.run_due()  # the receiver is still holding its answer when the timeout fires
    receiver.release.set()
    clock.advance(seconds=1.0)
    engine.run_due()

    assert [r["uri"] for r in receiver.requests] == ["/pb?txn=c-1", "/pb?txn=c-1"]
    first, second = rig.attempts(store, delivery_id)
    assert (first["outcome"], first["status_code"]) == ("retry", None)
    assert "timeout" in first["error"]
    assert (second["outcome"], second["status_code"]) == ("success", 200)
    assert rig.delivery(store, delivery_id)["status"] == "delivered"


def test_a_receiver_answering_within_the_timeout_gets_exactly_one_postback(
    rig, receiver, store: Store, clock: ManualClock
) -> None:
    receiver.replies.append(rig.Reply(delay=0.5))
    engine = rig.make_engine(store, clock, delivery_timeout=1.5)
    delivery_id = rig.enqueue(engine, store, clock, receiver.url + "/pb")

    engine.run_due()
    clock.advance(hours=1)
    engine.run_due()

    assert len(receiver.requests) == 1
    assert rig.delivery(store, delivery_id)["status"] == "delivered"
