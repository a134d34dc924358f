"""Checks shared by the platforms: each is `check(ctx, shape)` yielding violations.

`families.py` binds them to each platform's shape under that platform's rule IDs; the logic
lives once, here.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from conformance.context import Row, ScenarioContext, event_accepted
from conformance.findings import MISSING, Violation
from conformance.pairing import attempt_spans
from conformance.rules.shapes import (
    Shape,
    Site,
    issued_click_id,
    request_body,
    request_params,
    sites,
)
from conformance.rules.values import (
    GOOGLE_DATETIME,
    RFC3339,
    as_number,
    epoch_from_iso,
    epoch_from_number,
    hashing_problem,
    is_ip,
    is_placeholder,
    looks_hashed,
    same_currency,
    walk,
)
from conformance.story import attempt_of

REUSE_EVENT_ID = "a redelivery must reuse the event ID so the platform deduplicates it"
SENT_TWICE = ("the same conversion sent twice {where} under different event IDs: the "
              "platform counts both")
DROPPED_AS_DUPLICATE = "the platform drops one of them as a duplicate"
NO_CLICK_ID = "no click ID reached the receiver; omit the field instead"
REJECTED = "the platform rejects the request"
IN_CLEAR = "the value in clear (never hashed)"
TIME_FORMATS: dict[str, str] = {
    "unix_seconds": "integer Unix seconds",
    "google": "yyyy-mm-dd hh:mm:ss+hh:mm (with timezone offset)",
    "rfc3339": "an RFC 3339 timestamp with offset, e.g. 2026-11-01T12:00:00Z",
    "iso8601": "an ISO 8601 timestamp with offset, e.g. 2026-11-01T12:00:00Z",
}


def _utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _sent(value: Any) -> bool:
    return value is not MISSING and value is not None and value != ""


def event_epoch(site: Site) -> float | None:
    """The event's time in epoch seconds, whatever form it was sent in (None if unreadable)."""
    _, value = site.get("time")
    if isinstance(value, str) and not value.strip().isdigit():
        return epoch_from_iso(value)
    return epoch_from_number(int(value) if isinstance(value, str) else value)


def _linked(ctx: ScenarioContext, shape: Shape, role: str) -> Iterator[tuple[Site, str, Any, Row]]:
    """(site, field, value, conversion) for each event the context links to a conversion."""
    for site in sites(ctx, shape):
        conversion = ctx.conversion_for(site.entry, site.event)
        if conversion is not None:
            where, value = site.get(role)
            yield site, where, value, conversion


# --- dedup keys -------------------------------------------------------------------------------


def event_id_present(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Every event carries the dedup key (at-least-once delivery makes duplicates certain)."""
    for site in sites(ctx, shape):
        where, value = site.get("event_id")
        if not _sent(value) or is_placeholder(value):
            yield site.violation(where, "a non-empty ID that identifies the conversion", value)


def event_id_stable(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """All events for one conversion (redeliveries, retries) share one dedup key; a conversion
    the platform took more than once without one was counted more than once."""
    seen: dict[Any, list[tuple[str, Any, Any]]] = defaultdict(list)  # (ID, request, attempt)
    taken: dict[Any, list[tuple[Site, str, Any]]] = defaultdict(list)
    spans = attempt_spans(ctx.deliveries)
    for site, where, value, conversion in _linked(ctx, shape, "event_id"):
        if event_accepted(site.entry, site.event):
            taken[conversion["id"]].append((site, where, value))
        if not _sent(value):
            continue
        sent = (str(value), site.entry.get("id"),
                attempt_of(float(site.entry.get("ts") or 0.0), spans))
        earlier = seen[conversion["id"]]
        if earlier and all(known != sent[0] for known, _, _ in earlier):
            expected = (f"{earlier[0][0]!r}, the ID already sent for conversion "
                        f"{conversion['conversion_id']}")
            yield site.violation(where, expected, value, _why_new_id(earlier, sent))
        earlier.append(sent)
    for events in taken.values():
        if len(events) < 2:
            continue
        for site, where, value in events:
            if not _sent(value):
                expected = (f"the same {where.rsplit('.', 1)[-1]} on each of the {len(events)} "
                            "events the platform took for this conversion")
                note = f"without one the platform counts the conversion {len(events)} times"
                yield site.violation(where, expected, value, note)


def _why_new_id(earlier: list[tuple[str, Any, Any]], this: tuple[str, Any, Any]) -> str:
    """A new ID for a conversion already sent: in the same request or while the same postback
    was handled (the receiver sends the conversion twice), else later (a redelivery that took a
    new ID)."""
    if any(request == this[1] for _, request, _ in earlier):
        return SENT_TWICE.format(where="in one request")
    if this[2] is not None and any(attempt == this[2] for _, _, attempt in earlier):
        return SENT_TWICE.format(where="while handling one postback")
    return REUSE_EVENT_ID


def event_id_distinct(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Distinct conversions (even on one click) never share a dedup key."""
    owner: dict[str, Row] = {}
    for site, where, value, conversion in _linked(ctx, shape, "event_id"):
        if not _sent(value):
            continue
        first = owner.setdefault(str(value), conversion)
        expected = f"an ID of its own for conversion {conversion['conversion_id']}"
        note = f"already used for conversion {first['conversion_id']}; {DROPPED_AS_DUPLICATE}"
        if first["id"] != conversion["id"]:
            yield site.violation(where, expected, value, note)


# --- money ------------------------------------------------------------------------------------


def value_matches_payout(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event's value is the conversion's payout, in currency units."""
    tolerance = float(ctx.setting("value_tolerance"))
    for site, where, value, conversion in _linked(ctx, shape, "value"):
        payout = float(conversion.get("payout") or 0.0)
        if not _sent(value) and payout == 0:
            continue
        number = as_number(value) if _sent(value) else None
        if number is not None and abs(number - payout) <= tolerance:
            continue
        cents = number is not None and payout and abs(number - payout * 100) <= tolerance
        note = "the payout in cents" if cents else None
        yield site.violation(where, f"{payout:g} (the payout)", value, note)


def currency_matches(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event's currency is the conversion's ISO 4217 currency, as the platform reads it."""
    for site, where, value, conversion in _linked(ctx, shape, "currency"):
        expected = str(conversion.get("currency") or "")
        if not same_currency(shape.platform, value, expected):
            note = "case differs" if str(value).upper() == expected.upper() else None
            yield site.violation(where, f"{expected!r} (the offer currency)", value, note)


# --- time -------------------------------------------------------------------------------------


def _time_format_problem(kind: str, value: Any) -> str | None:
    """Why a time value breaks its platform's format ('' for no reason worth a note)."""
    if kind == "unix_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "not a number" if isinstance(value, str) else ""
        if value > 1e11:
            return "milliseconds, not seconds"
        return None if float(value).is_integer() else "not an integer"
    if not isinstance(value, str):
        return "a number, not a date-time string" if isinstance(value, int | float) else ""
    pattern = {"google": GOOGLE_DATETIME, "rfc3339": RFC3339}.get(kind)
    if pattern is not None and pattern.match(value):
        return None
    if pattern is None and epoch_from_iso(value) is not None:
        return None
    if epoch_from_iso(value.replace(" ", "T")) is None:
        return "no timezone offset" if epoch_from_iso(value + "+00:00") else ""
    iso_form = "T" in value.upper() or value.upper().endswith("Z")
    return "ISO 8601 'T'/'Z' form" if kind == "google" and iso_form else ""


def time_format(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event time is sent in the form the platform reads (seconds, offset, RFC 3339)."""
    for site in sites(ctx, shape):
        kind = site.role("time_format")
        where, value = site.get("time")
        problem = _time_format_problem(kind, value) if value is not MISSING else ""
        if problem is not None:
            yield site.violation(where, TIME_FORMATS[kind], value, problem or None)


def time_matches_conversion(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event time is the conversion's time (within tolerance), not the forwarding time."""
    tolerance = float(ctx.setting("event_time_tolerance_s"))
    for site, where, value, conversion in _linked(ctx, shape, "time"):
        when = event_epoch(site)
        delta = None if when is None else when - float(conversion["ts"])
        expected = f"{_utc(float(conversion['ts']))} (the conversion time, ±{tolerance:g}s)"
        if delta is not None and abs(delta) > tolerance:
            yield site.violation(where, expected, value, f"off by {delta:+.0f}s")


def _age(site: Site) -> tuple[float, float] | None:
    """(event time, request time) in epoch seconds, when the event time is readable."""
    when = event_epoch(site)
    return None if when is None else (when, float(site.entry.get("ts") or 0.0))


def time_not_future(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event time is not ahead of the request by more than the tolerance."""
    tolerance = float(ctx.setting("future_tolerance_s"))
    for site in sites(ctx, shape):
        times = _age(site)
        if times and times[0] - times[1] > tolerance:
            where, value = site.get("time")
            expected = f"a time no later than the request ({_utc(times[1])}) + {tolerance:g}s"
            yield site.violation(
                where, expected, value, f"{times[0] - times[1]:.0f}s in the future"
            )


def time_not_too_old(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The event time is within the platform's maximum age (`<platform>_max_event_age_days`)."""
    days = float(ctx.setting(f"{shape.platform}_max_event_age_days"))
    for site in sites(ctx, shape):
        times = _age(site)
        if times and times[1] - times[0] > days * 86400.0:
            where, value = site.get("time")
            expected = f"a time at most {days:g} days before the request ({_utc(times[1])})"
            note = f"{(times[1] - times[0]) / 86400.0:.1f} days old; {REJECTED}"
            yield site.violation(where, expected, value, note)


# --- click IDs --------------------------------------------------------------------------------


def difference(sent: str, issued: str) -> str | None:
    """How a forwarded click ID differs from the issued one, or None if it is the same one."""
    if sent == issued:
        return None
    if sent.lower() == issued.lower():
        return "case changed"
    if sent.strip() == issued:
        return "whitespace added"
    if unquote(sent) == issued or unquote(issued) == sent:
        return "URL-encoding changed"
    if issued.startswith(sent):
        return f"truncated to {len(sent)} of {len(issued)} characters"
    if sent.startswith(issued):
        return "characters appended"
    return "a different click ID"


def _issued_for(ctx: ScenarioContext, site: Site, value: str, issued_ids: list[str]) -> str | None:
    """The click ID this event should carry: its conversion's, else the nearest issued one."""
    conversion = ctx.conversion_for(site.entry, site.event)
    if conversion is not None:
        return issued_click_id(ctx, conversion, site.shape)
    if value in issued_ids:
        return value
    near = [i for i in issued_ids if difference(value, i) != "a different click ID"]
    candidates = near or (issued_ids if len(issued_ids) == 1 else [])
    return candidates[0] if candidates else None


def click_id_identical(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The forwarded click ID is byte-identical to the one the ad click issued."""
    issued_ids = [a["click_id"] for a in ctx.ad_clicks if a.get("kind") in shape.click_kinds]
    for site in sites(ctx, shape):
        where, _, value = site.click_id()
        if not isinstance(value, str) or is_placeholder(value) or looks_hashed(value):
            continue
        issued = _issued_for(ctx, site, value, issued_ids)
        if issued is not None and value != issued:
            expected = f"the issued {shape.click_kinds[0]} {issued!r} unchanged"
            yield site.violation(where, expected, value, difference(value, issued))


def placeholder_click_ids(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Click IDs forwarded although they are empty, `null`-like or an unexpanded macro (in the
    click ID's field, or in the field the other API version keeps it in)."""
    for site in sites(ctx, shape):
        for where, sent, value in site.click_ids():
            expected = f"a real {shape.click_kinds[0]}, or the field left out"
            if sent is not MISSING and (is_placeholder(sent) or is_placeholder(value)):
                yield site.violation(where, expected, sent, NO_CLICK_ID)


def fabricated_click_ids(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Click IDs sent for a conversion whose click carried none for this platform."""
    issued_any = any(a.get("kind") in shape.click_kinds for a in ctx.ad_clicks)
    for site in sites(ctx, shape):
        for found in site.click_ids():
            yield from _fabricated(ctx, shape, site, found, issued_any)


def _fabricated(ctx: ScenarioContext, shape: Shape, site: Site, found: tuple[str, Any, Any],
                issued_any: bool) -> Iterator[Violation]:
    where, sent, value = found
    if not _sent(sent) or is_placeholder(sent) or is_placeholder(value):
        return
    conversion = ctx.conversion_for(site.entry, site.event)
    if conversion is None:
        fabricated = not issued_any
    else:
        fabricated = issued_click_id(ctx, conversion, shape) is None
    if fabricated:
        expected = f"no {shape.click_kinds[0]} (the click carried none)"
        yield site.violation(where, expected, sent, "never fabricate a click ID")


# --- hashing and identity ---------------------------------------------------------------------


def _digest_problem(value: Any, encoding: str | None) -> str | None:
    """Why a value is not a SHA-256 digest in this encoding (None: lower-case hex only)."""
    if encoding == "BASE64":
        try:
            digest = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            return "not base64"
        return None if len(digest) == 32 else "not a base64 SHA-256 digest"
    problem = hashing_problem(value)
    return None if encoding == "HEX" and problem == "upper-case hex" else problem


def hashed_fields(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Personal data fields are SHA-256 digests (lower-case hex unless the request says else)."""
    for site in sites(ctx, shape):
        encoding = None
        if site.role("encoding_in_request"):
            encoding = str((request_body(site.entry) or {}).get("encoding") or "HEX").upper()
        expected = (
            f"a SHA-256 digest, {encoding}-encoded"
            if encoding
            else "a SHA-256 digest in lower-case hex (64 characters)"
        )
        for where, value in site.each("hashed"):
            problem = None if value in (None, "") else _digest_problem(value, encoding)
            if problem:
                yield site.violation(where, expected, value, problem)


def _unhashed(ctx: ScenarioContext, shape: Shape, role: str) -> Iterator[Violation]:
    for site in sites(ctx, shape):
        paths = site.role(role)
        for path in (paths,) if isinstance(paths, str) else paths or ():
            for where, value in walk(site.raw, path, site.prefix):
                if looks_hashed(value):
                    yield site.violation(where, IN_CLEAR, value, "a SHA-256 digest")


def unhashed_fields(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Fields the platform matches in clear (IP, user agent, click IDs) are never hashed."""
    return _unhashed(ctx, shape, "unhashed")


def unhashed_click_id(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The click ID field is never hashed."""
    return _unhashed(ctx, shape, "click_id")


def ip_valid(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The client IP is a valid IPv4 or IPv6 address."""
    for site in sites(ctx, shape):
        where, value = site.get("ip")
        if _sent(value) and not looks_hashed(value) and not is_ip(value):
            yield site.violation(where, "a valid IPv4 or IPv6 address", value)


def ip_matches_conversion(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """The client IP is the converting user's IP, not the receiver's own."""
    for site, where, value, conversion in _linked(ctx, shape, "ip"):
        expected = str(conversion.get("ip") or "")
        if expected and _sent(value) and is_ip(value) and value != expected:
            yield site.violation(where, f"{expected!r} (the conversion's user IP)", value)


# --- test traffic -----------------------------------------------------------------------------


def no_test_event_code(ctx: ScenarioContext, shape: Shape) -> Iterator[Violation]:
    """Requests carrying test_event_code (JSON, form or query): a setting for the platform's
    Test Events tool left on, so the platform keeps the events apart from real ones."""
    for entry in ctx.journal:
        if entry.get("platform") != shape.platform:
            continue
        value = request_params(entry).get("test_event_code", MISSING)
        if _sent(value):
            yield Violation(
                "test_event_code", "no test_event_code (production traffic)", value,
                "the platform shows these events in Test Events only; remove the code once "
                "testing is over", journal_id=entry.get("id"))
