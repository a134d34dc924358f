"""Predicates and parsers for the values platform payloads carry (pure, platform-neutral)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from conformance.findings import MISSING

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
SHA256_HEX_ANY_CASE = re.compile(r"^[0-9a-fA-F]{64}$")
# Google Ads: "yyyy-mm-dd hh:mm:ss+|-hh:mm"; the offset is mandatory.
# Fractional seconds are tolerated, as the Google Ads mock tolerates them (google_ads_rows.py).
GOOGLE_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# Values a template or a receiver leaves behind when there was no click ID to pass on.
PLACEHOLDER_WORDS = frozenset({"", "undefined", "null", "none", "nil", "nan", "false", "0", "-"})
PLACEHOLDER_SHAPE = re.compile(
    r"^(\{+[^{}]*\}+|\[+[^\]]*\]+|%7B.*%7D|\$\{?\w+\}?|__\w+__|<\w+>|\{\{.*)$", re.IGNORECASE
)


# Platforms that read currency codes case-insensitively. Meta's own docs show both "usd" and
# "USD", and its Python SDK lowercases custom_data.currency itself (CustomData.normalize).
# https://developers.facebook.com/documentation/ads-commerce/conversions-api/parameters/custom-data
CASE_INSENSITIVE_CURRENCY = frozenset({"meta"})


def same_currency(platform: str, received: Any, expected: str) -> bool:
    """True when the platform reads `received` as the ISO 4217 code `expected`."""
    if not isinstance(received, str):
        return False
    if platform in CASE_INSENSITIVE_CURRENCY:
        return received.upper() == expected.upper()
    return received == expected


def is_placeholder(value: Any) -> bool:
    """True for an empty, `null`/`undefined`-like or unexpanded-macro click ID (`{sub1}`)."""
    if value is None:
        return True
    text = str(value).strip()
    return text.lower() in PLACEHOLDER_WORDS or bool(PLACEHOLDER_SHAPE.match(text))


def looks_hashed(value: Any) -> bool:
    """True when a value is a SHA-256 hex digest in either case (i.e. someone hashed it)."""
    return isinstance(value, str) and bool(SHA256_HEX_ANY_CASE.match(value))


def hashing_problem(value: Any) -> str | None:
    """Why a value is not SHA-256 lower-case hex, or None when it is."""
    if isinstance(value, str) and SHA256_HEX.match(value):
        return None
    if looks_hashed(value):
        return "upper-case hex"
    if isinstance(value, str) and "@" in value:
        return "a plain e-mail address"
    return "not a SHA-256 hex digest"


def is_ip(value: Any) -> bool:
    """True for a valid IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def as_number(value: Any) -> float | None:
    """A monetary value as a float; numeric strings count (Meta's docs show both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def epoch_from_number(value: Any) -> float | None:
    """Epoch seconds from an integer time, reading a 13-digit value as milliseconds."""
    number = as_number(value) if not isinstance(value, str) else None
    if number is None:
        return None
    return number / 1000.0 if number > 1e11 else number


def epoch_from_iso(value: Any) -> float | None:
    """Epoch seconds from ISO 8601 / RFC 3339 / Google's `yyyy-mm-dd hh:mm:ss+hh:mm`, else None.

    A value without an offset is not given a time at all: its instant is unknowable.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def _key_variants(key: str) -> tuple[str, ...]:
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
    parts = key.split("_")
    camel = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return tuple(dict.fromkeys((key, snake, camel)))


def lookup(obj: Any, key: str) -> tuple[str, Any] | None:
    """(key as sent, value) for a key given in camelCase or snake_case, or None when absent."""
    if not isinstance(obj, Mapping):
        return None
    for variant in _key_variants(key):
        if variant in obj:
            return variant, obj[variant]
    return None


def walk(obj: Any, path: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(field path, value) for each value at a dotted path, expanding lists as `[i]`.

    Keys match in camelCase or snake_case; the yielded path spells them as sent.
    """
    head, _, rest = path.partition(".")
    found = lookup(obj, head)
    if found is None:
        return
    key, value = found
    here = f"{prefix}.{key}" if prefix else key
    items = (
        [(f"{here}[{i}]", v) for i, v in enumerate(value)]
        if isinstance(value, list)
        else [(here, value)]
    )
    for where, item in items:
        if rest:
            yield from walk(item, rest, where)
        else:
            yield where, item


def first(obj: Any, path: str, prefix: str = "") -> tuple[str, Any]:
    """(field path, value) of the first value at a path, or (spelled path, MISSING)."""
    for found in walk(obj, path, prefix):
        return found
    return (f"{prefix}.{path}" if prefix else path), MISSING
