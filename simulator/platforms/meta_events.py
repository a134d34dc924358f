"""Meta events in the journal's NormalizedEvent shape, with the diagnostics Meta reports later.

Meta accepts a request whose fbc is hashed or malformed, or whose PII is unhashed, and flags it
afterwards in Events Manager [3p: platform-rules.md section 2]; the mock records those problems as
findings instead of failing the request.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from simulator.platforms.attribution import attribute
from simulator.platforms.journal import earlier_events
from simulator.store import Row, Store

# fb.{subdomain_index}.{creation_time}.{fbclid}[.{appendix}] [official: parameters/fbp-and-fbc;
# parameter-builder-library: the appendix is 8 characters, or 2 in its legacy form]
FBC_RE = re.compile(
    r"fb\.(?P<sub>\d+)\.(?P<ms>\d+)\.(?P<fbclid>[A-Za-z0-9_-]+)"
    r"(?:\.(?:[A-Za-z0-9_-]{8}|[A-Za-z0-9_-]{2}))?"
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
ANY_CASE_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# Dotted-quad IPv4 as ipaddress accepts it (0-255, no leading zeros): the common case, checked
# without building an address object; anything else still goes through ipaddress.
IPV4_RE = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                     r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
# Must be SHA-256 lower-case hex [official: customer-information-parameters].
HASHED_FIELDS = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")
# No documented limit for future times [open]: later than this is recorded as a finding.
FUTURE_SLACK_S = 600
# event_id + event_name deduplicate events received within 48 hours [official:
# conversions-api/deduplicate-pixel-and-server-events].
DEDUP_WINDOW_S = 48 * 3600


def finding(code: str, field: str, message: str) -> dict[str, str]:
    return {"code": code, "field": field, "message": message}


def read_fbc(fbc: str, field: str) -> tuple[str | None, list[dict[str, str]]]:
    """The fbclid inside an fbc (its 4th dot-part) and what is wrong with the fbc."""
    if ANY_CASE_HEX64.fullmatch(fbc):
        return None, [finding("fbc_hashed", field,
                              f"{field}: expected fb.1.<13-digit ms>.<fbclid> sent unhashed, got "
                              f"a SHA-256 digest '{fbc[:12]}...'; fbc must never be hashed")]
    match = FBC_RE.fullmatch(fbc)
    if not match:
        parts = fbc.split(".")
        fbclid = parts[3] if len(parts) >= 4 and parts[0] == "fb" and parts[3] else None
        return fbclid, [finding("fbc_malformed", field,
                                f"{field}: expected fb.<subdomain_index>.<creation_time ms>."
                                f"<fbclid>, got {fbc[:40]!r}")]
    found = []
    if len(match["ms"]) != 13:
        unit = "seconds" if len(match["ms"]) == 10 else f"{len(match['ms'])} digits"
        found.append(finding("fbc_creation_time_not_ms", field,
                             f"{field}: expected a 13-digit creation time in milliseconds, got "
                             f"{match['ms']} ({unit})"))
    return match["fbclid"], found


def pii_findings(user_data: dict[str, Any], prefix: str) -> list[dict[str, str]]:
    found = []
    for key in HASHED_FIELDS:
        value = user_data.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str) or SHA256_HEX.fullmatch(item):
                continue
            field = f"{prefix}.user_data.{key}"
            if ANY_CASE_HEX64.fullmatch(item):
                found.append(finding("pii_hash_not_lowercase", field,
                                     f"{field}: expected lower-case SHA-256 hex, got upper case"))
            else:
                found.append(finding("pii_unhashed", field,
                                     f"{field}: expected the SHA-256 hex of the normalised value, "
                                     f"got an unhashed value of {len(item)} characters"))
            break
    ip = user_data.get("client_ip_address")
    if isinstance(ip, str) and not IPV4_RE.fullmatch(ip):
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            field = f"{prefix}.user_data.client_ip_address"
            found.append(finding("client_ip_invalid", field,
                                 f"{field}: expected an IPv4 or IPv6 address, got {ip[:45]!r}"))
    return found


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def fbclid_of(event: Any) -> str | None:
    """The fbclid an event's fbc carries, if any (to look a request's clicks up at once)."""
    user = event.get("user_data") if isinstance(event, dict) else None
    fbc = user.get("fbc") if isinstance(user, dict) else None
    return read_fbc(fbc, "")[0] if isinstance(fbc, str) and fbc else None


def normalize(
    store: Store, event: Any, index: int, *, now: float, window_days: float | None,
    issued: Mapping[str, Row] | None = None,
) -> dict[str, Any]:
    """One NormalizedEvent (ARCHITECTURE.md) for `data[index]`, attributed and diagnosed.

    `issued`: the request's issued clicks (`attribution.issued_clicks`), saving a query.
    """
    prefix = f"data[{index}]"
    body = event if isinstance(event, dict) else {}
    user = body.get("user_data") if isinstance(body.get("user_data"), dict) else {}
    custom = body.get("custom_data") if isinstance(body.get("custom_data"), dict) else {}
    event_time = _integer(body.get("event_time"))
    findings: list[dict[str, str]] = []

    fbclid, click_id = None, None
    fbc = user.get("fbc")
    if isinstance(fbc, str) and fbc:
        field = f"{prefix}.user_data.fbc"
        fbclid, fbc_problems = read_fbc(fbc, field)
        findings += fbc_problems
        if fbclid:
            click_id = {"kind": "fbclid", "value": fbclid, "field": field}
    outcome = attribute(store, "fbclid", fbclid, event_ts=event_time, window_days=window_days,
                        issued=issued)
    if isinstance(fbc, str) and fbc and not fbclid:
        outcome["detail"] = "fbc was sent but no fbclid could be read from it"
    if outcome["status"] == "modified":
        findings.append(finding("fbclid_modified", f"{prefix}.user_data.fbc",
                                f"{prefix}.user_data.fbc: {outcome['detail']}"))

    findings += pii_findings(user, prefix)
    if event_time is not None and event_time > now + FUTURE_SLACK_S:
        findings.append(finding("event_time_in_future", f"{prefix}.event_time",
                                f"{prefix}.event_time: expected Unix seconds not after now "
                                f"({int(now)}), got {event_time}"))
    event_id = body.get("event_id")
    return {
        "index": index,
        "event_name": body.get("event_name"),
        "event_time": event_time,
        "event_id": None if event_id is None else str(event_id),
        "value": _number(custom.get("value")),
        "currency": custom.get("currency"),
        "click_id": click_id,
        "user": {"ip": user.get("client_ip_address"), "user_agent": user.get("client_user_agent")},
        "raw": event,
        "field_prefix": prefix,
        "attribution": outcome,
        "findings": findings,
    }


def mark_duplicates(
    store: Store, events: list[dict[str, Any]], now: float, before_id: int = 2**63 - 1
) -> None:
    """Add a finding to each event Meta would drop as a duplicate of an earlier one (of an
    entry before journal entry `before_id`)."""
    keyed = [e for e in events
             if isinstance(e["event_name"], str) and e["event_id"] is not None]
    if not keyed:
        return
    journaled = earlier_events(store, "meta", (e["event_id"] for e in keyed),
                               now - DEDUP_WINDOW_S, before_id)
    seen: dict[tuple[str, str], str] = {}
    for event in keyed:
        name, event_id = event["event_name"], event["event_id"]
        key = (name, event_id)
        earlier = seen.get(key)
        if earlier is None and key in journaled:
            journal_id, prefix = journaled[key]
            earlier = f"journal entry {journal_id}, {prefix}"
        if earlier is None:
            seen[key] = f"this request, {event['field_prefix']}"
            continue
        field = f"{event['field_prefix']}.event_id"
        event["findings"].append(finding(
            "event_deduplicated", field,
            f"{field}: {name} with event_id {event_id!r} was already received ({earlier}) "
            "within 48 hours; Meta keeps the first and drops this one"))
