"""Rules whose logic is the same on every platform, registered once per platform that has them.

`FAMILIES` holds each family's check, severity, doc topic and summary template; `IDS` is the
coverage matrix: the rule ID each platform gives the family (None: not applicable there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules import checks
from conformance.rules.docs import TOPICS
from conformance.rules.registry import Rule, rule
from conformance.rules.shapes import SHAPES, Shape

SharedCheck = Callable[[ScenarioContext, Shape], Iterator[Violation]]


@dataclass(frozen=True)
class Family:
    """A shared check with what every platform's rule for it has in common."""

    check: SharedCheck
    severity: str
    topic: str
    summary: str  # str.format over the shape's roles (see `_names`)


FAMILIES: dict[str, Family] = {
    "unhashed_click_id": Family(
        checks.unhashed_click_id, "must", "click", "{click_id} is sent in clear, never hashed"
    ),
    "click_id_identical": Family(
        checks.click_id_identical,
        "must",
        "click",
        "The {kind} ({click_id}) is byte-identical to the one the ad click issued",
    ),
    "time_format": Family(checks.time_format, "must", "time", "{time} is {time_format}"),
    "time_matches": Family(
        checks.time_matches_conversion,
        "must",  # another time moves the conversion out of (or into) attribution windows
        "time",
        "{time} is the conversion's time, not the time the receiver forwarded it",
    ),
    "time_not_too_old": Family(
        checks.time_not_too_old,
        "must",
        "time",
        "{time} is at most 7 days before the request (older requests are rejected)",
    ),
    "time_not_future": Family(
        checks.time_not_future,
        "should",
        "time",
        "{time} is not more than 10 minutes ahead of the request",
    ),
    "event_id_present": Family(
        checks.event_id_present,
        "should",
        "dedup",
        "Every event carries {event_id} so the platform can deduplicate it",
    ),
    "event_id_stable": Family(
        checks.event_id_stable,
        "must",
        "dedup",
        "Redeliveries of one conversion reuse one {event_id}",
    ),
    "event_id_distinct": Family(
        checks.event_id_distinct,
        "must",
        "dedup",
        "Distinct conversions, also on one click, have distinct {event_id} values",
    ),
    "value": Family(
        checks.value_matches_payout,
        "must",
        "money",
        "{value} is the conversion's payout in currency units",
    ),
    "currency": Family(
        checks.currency_matches, "must", "money", "{currency} is the conversion's ISO 4217 currency"
    ),
    "hashed": Family(checks.hashed_fields, "must", "user", "{hashed} are SHA-256 digests"),
    "unhashed": Family(
        checks.unhashed_fields, "must", "user", "{unhashed} are sent in clear, never hashed"
    ),
    "ip_valid": Family(checks.ip_valid, "must", "user", "{ip} is a valid IPv4 or IPv6 address"),
    "ip_matches": Family(
        checks.ip_matches_conversion,
        "must",  # another IP is someone else's data: it matches the wrong person
        "user",
        "{ip} is the converting user's IP from the postback",
    ),
    "no_test_event_code": Family(
        checks.no_test_event_code,
        "must",  # the platform keeps such events apart from the ones it reports and attributes
        "testing",
        "No test_event_code in production requests (it sends events to Test Events only)",
    ),
}

# family -> rule ID per platform, in the column order of shapes.SHAPES. IDs are never reused.
#                                meta        tiktok        google_ads  datamanager
IDS: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "unhashed_click_id": ("META-002", None, None, None),
    "click_id_identical": ("META-003", "TIKTOK-002", "GADS-001", "DM-006"),
    "time_format": ("META-005", "TIKTOK-003", "GADS-002", "DM-001"),
    "time_matches": ("META-006", "TIKTOK-004", "GADS-003", "DM-002"),
    "time_not_too_old": ("META-007", None, None, None),
    "time_not_future": ("META-008", None, None, None),
    "event_id_present": ("META-009", "TIKTOK-005", "GADS-004", "DM-003"),
    "event_id_stable": ("META-010", "TIKTOK-006", "GADS-005", "DM-004"),
    "event_id_distinct": ("META-011", "TIKTOK-007", "GADS-006", "DM-005"),
    "value": ("META-012", "TIKTOK-008", "GADS-008", "DM-009"),
    "currency": ("META-013", "TIKTOK-009", "GADS-009", "DM-010"),
    "hashed": ("META-016", "TIKTOK-010", None, "DM-007"),
    "unhashed": ("META-017", "TIKTOK-011", None, None),
    "ip_valid": ("META-018", "TIKTOK-012", None, None),
    "ip_matches": ("META-019", "TIKTOK-013", None, None),
    "no_test_event_code": ("META-023", "TIKTOK-017", None, None),
}


def _time_form(kind: str) -> str:
    return checks.TIME_FORMATS[kind].split(", e.g.")[0]


def _names(shape: Shape) -> dict[str, Any]:
    """What summary templates may name: role paths (lists as leaf names), kind, time format."""
    names: dict[str, Any] = {"kind": shape.click_kinds[0]}
    for role, value in shape.roles.items():
        names[role] = (
            " ".join(v.rsplit(".", 1)[-1] for v in value) if isinstance(value, tuple) else value
        )
    names["time_format"] = _time_form(shape.roles["time_format"])
    for api, override in shape.by_api.items():
        if "time_format" in override:
            form = _time_form(override["time_format"])
            names["time_format"] += f" ({api}: {override['time']} is {form})"
    return names


def shared_rules() -> tuple[Rule, ...]:
    """Every family bound to every platform that has an ID for it."""
    built = []
    for name, family in FAMILIES.items():
        for column, shape in enumerate(SHAPES):
            rule_id = IDS[name][column]
            if rule_id is None:
                continue
            built.append(
                rule(
                    id=rule_id,
                    platform=shape.platform,
                    severity=family.severity,
                    summary=family.summary.format(**_names(shape)),
                    doc_url=TOPICS[family.topic][column],
                )(partial(family.check, shape=shape))
            )
    return tuple(built)


SHARED_RULES = shared_rules()
