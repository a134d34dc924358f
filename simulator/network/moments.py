"""When a click or conversion happened: now, an ISO 8601 instant, or an offset into the past.

Scenarios place clicks 31 days ago without sleeping, so every time is relative to the injected
clock, never to the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from simulator.clock import Clock, parse_iso
from simulator.errors import ApiError

TIME_FIELDS = ("at", "ago_seconds", "days_ago")
# Unix time covers what postbacks can express ({timestamp}); beyond it conversions overflow.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def parse_moment(value: str, field: str) -> datetime:
    """An ISO 8601 instant between 1970 and 2100, or an error naming `field`."""
    try:
        moment = parse_iso(value)
        in_range = EARLIEST <= moment <= LATEST
    except (ValueError, OverflowError):
        raise ApiError(
            f"{field}: {value!r} is not an ISO 8601 date-time (e.g. 2026-11-01T12:00:00Z)",
            field=field,
        ) from None
    if not in_range:
        # A valid date-time the network cannot place (postback {timestamp} is Unix time): 422.
        raise ApiError(f"{field}: {value!r} is outside 1970-2100", field=field, status=422)
    return moment


def resolve_moment(clock: Clock, values: dict[str, Any]) -> datetime:
    """The instant named by at most one of `at`, `ago_seconds`, `days_ago`; default now."""
    given = [name for name in TIME_FIELDS if values.get(name) is not None]
    if len(given) > 1:
        raise ApiError(
            f"give at most one of {', '.join(TIME_FIELDS)}; got {', '.join(given)}",
            code="conflicting_fields",
            field=given[1],
            status=422,  # each is valid alone; the schema cannot say "one of them"
        )
    now = clock.now()
    if not given:
        return now
    name = given[0]
    if name == "at":
        return parse_moment(str(values["at"]), "at")
    seconds = float(values[name]) * (86400.0 if name == "days_ago" else 1.0)
    return now - timedelta(seconds=seconds)
