"""Pixel + postback dedup: a server event for a conversion the browser pixel already reported
carries the pixel's event ID (Meta: and its event_name), so the platform keeps one of the two.

The seed network's documentation: "If you also run the platform's pixel, deduplicate pixel and
postback events with a shared event ID" (platform-rules.md section 1). The landing page passes
the pixel's event ID through the profile's `event_id_sub`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance.context import ScenarioContext
from conformance.findings import MISSING, Violation
from conformance.rules.docs import META_DEDUP, TIKTOK_EVENTS
from conformance.rules.registry import rule
from conformance.rules.shapes import META, TIKTOK, Shape, sites

Row = dict[str, Any]


def _browser_event(ctx: ScenarioContext, platform: str, conversion: Row) -> Row | None:
    """The pixel event the landing page reported for this conversion's click, if any."""
    slot = ctx.profile_value("event_id_sub")
    passed = str((conversion.get("click") or {}).get(slot) or "") if slot else ""
    for entry in ctx.browser_events:
        for event in entry.get("events") or []:
            if entry.get("platform") == platform and passed and event.get("event_id") == passed:
                return event
    return None


def _mismatches(ctx: ScenarioContext, shape: Shape, name_role: str | None
                ) -> Iterator[Violation]:
    for site in sites(ctx, shape):
        conversion = ctx.conversion_for(site.entry, site.event)
        browser = _browser_event(ctx, shape.platform, conversion) if conversion else None
        if browser is None:
            continue
        where, sent = site.get("event_id")
        wanted = browser["event_id"]
        if sent is MISSING or str(sent) != wanted:
            yield site.violation(where or f"{site.prefix}.event_id",
                                 f"the pixel's event ID {wanted!r}", sent,
                                 "the platform counts the pixel and server events twice")
        if name_role:
            name_where = f"{site.prefix}.{name_role}"
            name = site.raw.get(name_role, MISSING)
            if name != browser.get("event_name"):
                yield site.violation(name_where, f"the pixel's event name "
                                     f"{browser.get('event_name')!r}", name,
                                     "Meta deduplicates on event_name and event_id together")


@rule(id="META-021", platform="meta", severity="must", doc_url=META_DEDUP)
def meta_pixel_dedup(ctx: ScenarioContext) -> Iterator[Violation]:
    """A conversion the pixel reported is sent with the pixel's event_id and event_name."""
    yield from _mismatches(ctx, META, "event_name")


@rule(id="TIKTOK-015", platform="tiktok", severity="must", doc_url=TIKTOK_EVENTS)
def tiktok_pixel_dedup(ctx: ScenarioContext) -> Iterator[Violation]:
    """A conversion the pixel reported is sent with the pixel's event_id."""
    yield from _mismatches(ctx, TIKTOK, None)
