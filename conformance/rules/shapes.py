"""Where each platform keeps the same facts, so one check can serve all four platforms.

A `Shape` maps roles (event ID, value, currency, time, click ID, ...) to dotted paths inside one
event as sent (`NormalizedEvent.raw`), per API where they differ (TikTok Events 1.0 vs 2.0).
A `Site` is one event of one journal entry seen through its shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from conformance.context import Row, ScenarioContext, fbclid_of
from conformance.findings import MISSING, Violation
from conformance.rules.values import first, is_placeholder, lookup, walk


@dataclass(frozen=True)
class Shape:
    """A platform's payload layout: role -> dotted path, with per-API overrides."""

    platform: str
    click_kinds: tuple[str, ...]
    container: str
    roles: Mapping[str, Any]
    by_api: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def role(self, name: str, api: str | None) -> Any:
        """The path (or paths, or setting) this platform uses for a role in this API."""
        override = self.by_api.get(api or "", {})
        return override[name] if name in override else self.roles.get(name)


# role -> value per platform, in the column order of SHAPES (TikTok: Events 2.0).
#                 meta                            tiktok             google_ads      datamanager
_ROLES: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "event_id": ("event_id", "event_id", "orderId", "transactionId"),
    "value": ("custom_data.value", "properties.value", "conversionValue", "conversionValue"),
    "currency": ("custom_data.currency", "properties.currency", "currencyCode", "currency"),
    "time": ("event_time", "event_time", "conversionDateTime", "eventTimestamp"),
    "time_format": ("unix_seconds", "unix_seconds", "google", "rfc3339"),
    "click_id": ("user_data.fbc", "user.ttclid", "gclid", "adIdentifiers.gclid"),
    "ip": ("user_data.client_ip_address", "user.ip", None, None),
    "user_agent": ("user_data.client_user_agent", "user.user_agent", None, None),
}


def _shape(column: int, platform: str, kind: str, container: str, **extra: Any) -> Shape:
    roles = {role: values[column] for role, values in _ROLES.items() if values[column]}
    by_api = extra.pop("by_api", {})
    return Shape(platform, (kind,), container, roles | extra, by_api)


META_PII = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country")
META = _shape(
    0,
    "meta",
    "fbclid",
    "data",
    hashed=tuple(f"user_data.{key}" for key in META_PII),
    unhashed=("user_data.client_ip_address", "user_data.client_user_agent", "user_data.fbp"),
)
TIKTOK = _shape(
    1,
    "tiktok",
    "ttclid",
    "data",
    misplaced_click_id="context.ad.callback",
    hashed=("user.email", "user.phone", "user.external_id"),
    unhashed=("user.ip", "user.user_agent", "user.ttclid", "user.ttp"),
    by_api={
        # Events 1.0 (/pixel/track/): ISO `timestamp`, ttclid in context.ad.callback.
        "events1": {
            "time": "timestamp",
            "time_format": "iso8601",
            "click_id": "context.ad.callback",
            "misplaced_click_id": "user.ttclid",
            "ip": "context.ip",
            "user_agent": "context.user_agent",
            "hashed": (
                "context.user.email",
                "context.user.phone_number",
                "context.user.external_id",
            ),
            "unhashed": ("context.ip", "context.user_agent", "context.ad.callback"),
        },
    },
)
GOOGLE_ADS = _shape(2, "google_ads", "gclid", "conversions")
DATAMANAGER = _shape(
    3,
    "datamanager",
    "gclid",
    "events",
    encoding_in_request=True,
    hashed=(
        "userData.userIdentifiers.emailAddress",
        "userData.userIdentifiers.phoneNumber",
        "userData.userIdentifiers.address.givenName",
        "userData.userIdentifiers.address.familyName",
    ),
)

SHAPES: tuple[Shape, ...] = (META, TIKTOK, GOOGLE_ADS, DATAMANAGER)


def request_body(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The entry's body as a JSON object, or None when it is not one (form posts, junk)."""
    body = entry.get("body")
    if isinstance(body, Mapping):
        return body
    try:
        parsed = json.loads(body or "")
    except (TypeError, ValueError):
        return None
    return parsed if isinstance(parsed, Mapping) else None


# One part of a multipart/form-data body: its name, its header lines, a blank line, its value.
MULTIPART_FIELD = re.compile(
    r'name="(?P<name>[^"]+)"\r?\n(?:[^\r\n]+\r?\n)*\r?\n(?P<value>[^\r\n]*)')


def request_params(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The request's top-level parameters however they were sent: the query string, then the
    body's (a JSON object, a form-encoded or a multipart form), the body winning a clash."""
    query = entry.get("query")
    params: dict[str, Any] = dict(query) if isinstance(query, Mapping) else {}
    body = request_body(entry)
    if body is not None:
        return {**params, **body}
    text = entry.get("body")
    if not isinstance(text, str) or not text:
        return params
    found = {m["name"]: m["value"] for m in MULTIPART_FIELD.finditer(text)}
    if not found and "=" in text:
        found = dict(parse_qsl(text, keep_blank_values=True))
    return {**params, **found}


def request_fields(ctx: ScenarioContext, platform: str, key: str) -> Iterator[tuple[Row, str, Any]]:
    """(entry, key as sent, value or MISSING) of a request-level field, per JSON request body."""
    for entry in ctx.journal:
        body = request_body(entry) if entry.get("platform") == platform else None
        if body is not None:
            found = lookup(body, key)
            yield (entry, *found) if found else (entry, key, MISSING)


@dataclass(frozen=True)
class Site:
    """One event of one journal entry, read through its platform's shape."""

    entry: Row
    event: Row
    shape: Shape

    @property
    def raw(self) -> Mapping[str, Any]:
        raw = self.event.get("raw")
        return raw if isinstance(raw, Mapping) else {}

    @property
    def api(self) -> str | None:
        return self.entry.get("api")

    @property
    def prefix(self) -> str:
        prefix = self.event.get("field_prefix")
        if prefix is not None:
            return str(prefix)
        return f"{self.shape.container}[{self.event.get('index', 0)}]"

    def role(self, name: str) -> Any:
        return self.shape.role(name, self.api)

    def get(self, name: str) -> tuple[str, Any]:
        """(field path, value) of a role; the value is MISSING when not sent."""
        path = self.role(name)
        if not path:
            return "", MISSING
        return first(self.raw, path, self.prefix)

    def each(self, name: str) -> Iterator[tuple[str, Any]]:
        """(field path, value) for every value under a role listing several paths."""
        for path in self.role(name) or ():
            yield from walk(self.raw, path, self.prefix)

    def click_id(self) -> tuple[str, Any, Any]:
        """(field path, value as sent, the click ID inside it); the value may be MISSING."""
        where, sent = self.get("click_id")
        if self.shape.platform == "meta" and isinstance(sent, str):
            return where, sent, fbclid_of(sent)
        return where, sent, sent

    def click_ids(self) -> Iterator[tuple[str, Any, Any]]:
        """`click_id()`, then each click ID sent where the other API version keeps it (a TikTok
        Events 2.0 event with a 1.0 `context.ad.callback`): wherever a receiver put a click ID,
        it is one it forwarded."""
        yield self.click_id()
        misplaced = self.role("misplaced_click_id")
        if misplaced:
            where, sent = first(self.raw, misplaced, self.prefix)
            if sent is not MISSING:
                yield where, sent, sent

    def violation(
        self, where: str, expected: str, received: Any, note: str | None = None
    ) -> Violation:
        return Violation(
            field=where,
            expected=expected,
            received=received,
            note=note,
            journal_id=self.entry.get("id"),
            event_index=self.event.get("index"),
        )


def sites(ctx: ScenarioContext, shape: Shape) -> Iterator[Site]:
    """Every event the platform received in this scenario, as sites."""
    for entry, event in ctx.events(shape.platform):
        yield Site(entry, event, shape)


def issued_click_id(ctx: ScenarioContext, conversion: Row | None, shape: Shape) -> str | None:
    """The click ID the conversion's click really carried for this platform, or None."""
    click = (conversion or {}).get("click")
    if not click:
        return None
    ad_click = click.get("ad_click")
    if ad_click:
        return ad_click.get("click_id") if ad_click.get("kind") in shape.click_kinds else None
    sub = ctx.sub_value(click)
    return None if is_placeholder(sub) else sub
