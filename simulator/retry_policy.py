"""The retry policy: what one postback attempt's answer means for its delivery.

Kept apart from the engine (`simulator.delivery`) so it reads (and tests) as the table of
decisions it is.

Outcomes (design choices, see platform-rules.md section 1 for what real networks do):
- 2xx and 3xx are delivered. Redirects are not followed: the receiver got the request, and
  following a Location would hand the conversion to a third party.
- Timeouts, connection errors, 5xx, 408, 425 and 429 are retried after the waits in
  `config.retry_schedule` (len + 1 attempts in all); `Retry-After` (seconds or HTTP-date) lengthens
  a wait, capped at the schedule's longest wait so a compressed test schedule stays compressed.
- Any other 4xx, or a URL that cannot be requested at all, fails at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from simulator.http_client import HttpResult

# Besides timeouts, connection errors and 5xx: request timeout, too early, too many requests.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Verdict:
    """What one attempt means: the attempt's outcome, the delivery's status, the wait if any."""

    outcome: str  # success | retry | final
    status: str  # delivered | pending | failed
    retry_in: float | None = None


def judge(
    result: HttpResult, number: int, schedule: tuple[float, ...], now: datetime | float
) -> Verdict:
    """Classify attempt `number` (1-based) of a delivery under the retry schedule; `now` (an
    aware datetime or epoch seconds) only dates a `Retry-After` given as an HTTP-date."""
    code = result.status
    if code is not None and 200 <= code < 400:
        return Verdict("success", "delivered")
    retryable = not result.fatal and (
        code is None or code >= 500 or code in RETRYABLE_STATUSES
    )
    if not retryable or number > len(schedule):
        return Verdict("final", "failed")
    wait = schedule[number - 1]
    asked = retry_after_seconds(result.header("Retry-After"), now)
    if asked is not None:
        wait = min(max(wait, asked), max(schedule))
    return Verdict("retry", "pending", wait)


def retry_after_seconds(value: str | None, now: datetime | float) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or HTTP-date), None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not isinstance(now, datetime):
        now = datetime.fromtimestamp(now, UTC)
    return max(0.0, (when - now).total_seconds())
