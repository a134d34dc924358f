"""The retry policy as a pure function: how each attempt is judged, how Retry-After is read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.http_client import HttpResult
from simulator.retry_policy import judge, retry_after_seconds

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
