"""TikTok Events API rules of its own: where the ttclid goes in Events 2.0 vs legacy 1.0.

The rules TikTok shares with the other platforms are in `families.py`. TikTok's own pages were
not readable (platform-rules.md section 3); the facts rest on its SDK and integrators.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import MISSING, Violation
from conformance.rules.docs import TIKTOK_EVENTS
from conformance.rules.registry import rule
from conformance.rules.shapes import TIKTOK, sites
from conformance.rules.values import first

API_NAMES = {"events2": "Events 2.0", "events1": "Events 1.0"}


@rule(id="TIKTOK-001", platform="tiktok", severity="must", doc_url=TIKTOK_EVENTS)
def ttclid_placement(ctx: ScenarioContext) -> Iterator[Violation]:
    """ttclid is in user.ttclid (Events 2.0) or context.ad.callback (1.0), never mixed."""
    for site in sites(ctx, TIKTOK):
        where, value = first(site.raw, site.role("misplaced_click_id"), site.prefix)
        if value is MISSING:
            continue
        right = f"{site.prefix}.{site.role('click_id')}".lstrip(".")
        api = API_NAMES.get(site.api or "", site.api)
        yield site.violation(
            where,
            f"the ttclid in {right} ({api})",
            value,
            f"that field belongs to the other API version; {api} ignores it",
        )
