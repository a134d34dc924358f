"""Evidence that tells the receiver's own retries from the network's redeliveries."""

from __future__ import annotations

from datetime import UTC, datetime

from conformance.story import tell
from simulator.clock import iso

T0 = 1_800_000_000.0


def attempt(number: int, start: float, seconds: float, status: int | None) -> dict:
    return {"number": number, "started_at": iso(datetime.fromtimestamp(start, UTC)),
            "latency_ms": seconds * 1000, "status_code": status, "error": None}


def request(entry_id: int, ts: float, status: int) -> dict:
    return {"id": entry_id, "ts": ts, "status": status}


def test_a_postback_answered_500_after_a_final_400_is_told_as_network_redelivery() -> None:
    deliveries = [{"id": 1, "redelivery_of": None, "attempts": [
        attempt(n, T0 + 10 * n, 0.2, 500) for n in (1, 2, 3, 4)]}]
    requests = [request(n, T0 + 10 * n + 0.1, 400) for n in (1, 2, 3, 4)]

    text = tell("meta", requests, deliveries)

    assert text == ("4 request(s) with statuses [400, 400, 400, 400]: the receiver answered the "
                    "postback 500 after Meta's 400, so the network redelivered it 3 time(s)")


def test_several_requests_during_one_postback_are_told_as_the_receivers_own_retries() -> None:
    deliveries = [{"id": 1, "redelivery_of": None, "attempts": [attempt(1, T0, 2.0, 200)]}]
    requests = [request(1, T0 + 0.1, 503), request(2, T0 + 0.5, 503), request(3, T0 + 1.2, 200)]

    text = tell("google_ads", requests, deliveries)

    assert text.endswith("the receiver itself retried 2 time(s) while handling a postback")


def test_a_scenarios_own_redelivery_is_named_as_such() -> None:
    deliveries = [{"id": 1, "redelivery_of": None, "attempts": [attempt(1, T0, 0.2, 200)]},
                  {"id": 2, "redelivery_of": 1, "attempts": [attempt(1, T0 + 5, 0.2, 200)]}]
    requests = [request(1, T0 + 0.1, 200), request(2, T0 + 5.1, 200)]

    text = tell("tiktok", requests, deliveries)

    assert text.endswith("the scenario redelivered the postback 1 time(s)")


def test_a_request_sent_after_the_postback_was_answered_200_is_told_as_such() -> None:
    deliveries = [{"id": 1, "redelivery_of": None, "attempts": [attempt(1, T0, 0.01, 200)]}]
    requests = [request(1, T0 + 0.05, 429)]

    text = tell("google_ads", requests, deliveries)

    assert text.endswith("the receiver had answered the postback 200 before it sent 1 of them, "
                         "so the network, told the postback succeeded, will not deliver it again "
                         "whatever the platform answered")


def test_a_request_sent_while_the_postback_was_handled_is_not_told_as_sent_after() -> None:
    deliveries = [{"id": 1, "redelivery_of": None, "attempts": [attempt(1, T0, 0.5, 200)]}]

    assert tell("google_ads", [request(1, T0 + 0.2, 429)], deliveries) == (
        "1 request(s) with statuses [429]")
