"""Where events go: the pixel, pixel code, customer, conversion action and destination the
profile names. An event sent anywhere else is credited to someone else's account, or to none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import ScenarioContext
from conformance.findings import MISSING, Violation
from conformance.rules.docs import DM_INGEST, GADS_UPLOAD, META_USING_API, TIKTOK_EVENTS
from conformance.rules.registry import rule
from conformance.rules.shapes import request_body

META_EVENTS_PATH = re.compile(r"/(?P<pixel>[^/]+)/events/?$")
GADS_PATH = re.compile(r"/customers/(?P<customer>[^/:]+):uploadClickConversions")
GADS_ACTION = re.compile(r"^customers/(?P<customer>[^/]+)/conversionActions/(?P<action>[^/]+)$")


def configured(ctx: ScenarioContext, platform: str) -> Mapping[str, str] | None:
    """The ids the profile gives for a platform, or None when it names none."""
    ids = (ctx.profile_value("platforms") or {}).get(platform)
    return ids if isinstance(ids, Mapping) else None


def _entries(ctx: ScenarioContext, platform: str) -> Iterator[dict[str, Any]]:
    yield from (e for e in ctx.journal if e.get("platform") == platform)


def _pixel_sent(entry: dict[str, Any]) -> tuple[str, Any]:
    """(where, pixel) a Meta or TikTok request names: Meta's path, TikTok's body field."""
    if entry.get("platform") == "meta":
        match = META_EVENTS_PATH.search(str(entry.get("path") or ""))
        return "request path pixel_id", match["pixel"] if match else MISSING
    body = request_body(entry)
    if not isinstance(body, Mapping):
        return "", MISSING
    key = "pixel_code" if "pixel_code" in body else "event_source_id"
    return key, body.get(key, MISSING)


def _wrong_pixel(ctx: ScenarioContext, platform: str, key: str) -> Iterator[Violation]:
    wanted = (configured(ctx, platform) or {}).get(key)
    if not wanted:
        return
    for entry in _entries(ctx, platform):
        where, sent = _pixel_sent(entry)
        if sent is not MISSING and sent != wanted:
            yield Violation(where, f"the profile's {key} {wanted!r}", sent,
                            "another pixel gets the credit", journal_id=entry.get("id"))


@rule(id="META-020", platform="meta", severity="must", doc_url=META_USING_API)
def meta_pixel(ctx: ScenarioContext) -> Iterator[Violation]:
    """Events go to the pixel the profile names (POST /{pixel_id}/events)."""
    yield from _wrong_pixel(ctx, "meta", "pixel_id")


@rule(id="TIKTOK-014", platform="tiktok", severity="must", doc_url=TIKTOK_EVENTS)
def tiktok_pixel(ctx: ScenarioContext) -> Iterator[Violation]:
    """Events go to the pixel code the profile names (event_source_id; 1.0: pixel_code)."""
    yield from _wrong_pixel(ctx, "tiktok", "pixel_code")


@rule(id="GADS-010", platform="google_ads", severity="must", doc_url=GADS_UPLOAD)
def google_ads_destination(ctx: ScenarioContext) -> Iterator[Violation]:
    """Uploads go to the customer and conversion action the profile names."""
    ids = configured(ctx, "google_ads")
    if not ids:
        return
    customer = str(ids.get("customer_id", "")).replace("-", "")
    action = f"customers/{customer}/conversionActions/{ids.get('conversion_action_id')}"
    for entry in _entries(ctx, "google_ads"):
        match = GADS_PATH.search(str(entry.get("path") or ""))
        if match and match["customer"].replace("-", "") != customer:
            yield Violation("request path customer_id", f"the profile's customer {customer!r}",
                            match["customer"], journal_id=entry.get("id"))
        body = request_body(entry)
        rows = body.get("conversions") if isinstance(body, Mapping) else None
        for index, row in enumerate(rows if isinstance(rows, list) else []):
            sent = row.get("conversionAction", MISSING) if isinstance(row, Mapping) else MISSING
            if sent is not MISSING and sent != action:
                yield Violation(f"conversions[{index}].conversionAction", repr(action), sent,
                                "another conversion action gets the credit",
                                journal_id=entry.get("id"), event_index=index)


@rule(id="DM-011", platform="datamanager", severity="must", doc_url=DM_INGEST)
def datamanager_destination(ctx: ScenarioContext) -> Iterator[Violation]:
    """Events go to the account and destination (conversion action) the profile names."""
    ids = configured(ctx, "datamanager")
    if not ids:
        return
    for entry in _entries(ctx, "datamanager"):
        body = request_body(entry)
        destinations = body.get("destinations") if isinstance(body, Mapping) else None
        for index, destination in enumerate(destinations if isinstance(destinations, list)
                                            else []):
            if not isinstance(destination, Mapping):
                continue
            account = destination.get("operatingAccount")
            sent = {"operatingAccount.accountId": (account.get("accountId", MISSING)
                                                   if isinstance(account, Mapping) else MISSING),
                    "productDestinationId": destination.get("productDestinationId", MISSING)}
            wanted = {"operatingAccount.accountId": ids.get("account_id"),
                      "productDestinationId": ids.get("destination_id")}
            for key, expected in wanted.items():
                value = sent[key]
                if value is not MISSING and str(value) != str(expected):
                    yield Violation(f"destinations[{index}].{key}",
                                    f"the profile's {expected!r}", value,
                                    journal_id=entry.get("id"))

