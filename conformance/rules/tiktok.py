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
from conformance.rules.shapes import TIKTOK, request_body, sites
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


# Top-level keys of each API's body (platform-rules.md section 3); the mock reads the same.
BODY_KEYS = {"events2": ("event_source", "event_source_id", "data"),
             "events1": ("pixel_code", "batch", "event", "context", "timestamp")}


@rule(id="TIKTOK-016", platform="tiktok", severity="must", doc_url=TIKTOK_EVENTS)
def body_matches_endpoint(ctx: ScenarioContext) -> Iterator[Violation]:
    """The body is the endpoint's API version: Events 2.0 on /event/track/, 1.0 on /pixel/."""
    for entry in ctx.journal:
        body = request_body(entry) if entry.get("platform") == "tiktok" else None
        api = str(entry.get("api") or "")
        if not isinstance(body, dict) or api not in BODY_KEYS:
            continue
        other = "events1" if api == "events2" else "events2"
        foreign = [k for k in BODY_KEYS[other] if k in body and k not in BODY_KEYS[api]]
        if foreign and not any(k in body for k in BODY_KEYS[api] if k not in BODY_KEYS[other]):
            yield Violation(
                "request body", f"an {API_NAMES[api]} body on {entry.get('path')}",
                f"an {API_NAMES[other]} body ({', '.join(foreign)})",
                f"TikTok answers code 40002 and drops the event; post it to the "
                f"{API_NAMES[other]} endpoint or send the {API_NAMES[api]} shape",
                journal_id=entry.get("id"))
