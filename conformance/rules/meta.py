"""Meta Conversions API rules of its own (platform-rules.md section 2).

The rules Meta shares with the other platforms (dedup key, value, time, hashing) are in
`families.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import META_FBC, META_SERVER_EVENT
from conformance.rules.registry import rule
from conformance.rules.shapes import META, Site, sites
from conformance.rules.values import first, is_placeholder, looks_hashed

FBC = re.compile(r"^fb\.(?P<index>[^.]*)\.(?P<time>[^.]*)\.(?P<fbclid>[^.]*)(?:\.(?P<app>.*))?$")
ACTION_SOURCES = frozenset(
    {"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated"}
    | {"business_messaging", "other"}
)


def _fbc_problem(match: re.Match[str] | None) -> str | None:
    """Why an fbc value breaks `fb.1.<13-digit ms>.<fbclid>[.<2 or 8 chars>]`, or None."""
    if match is None:
        return "not four dot-separated parts starting with 'fb'"
    created, appendix = match["time"], match["app"]
    if match["index"] != "1":
        return f"subdomain index {match['index']!r}; a server builds it with 1"
    if not created.isdigit():
        return "creation time is not a number"
    if len(created) != 13:
        return "creation time in seconds" if len(created) == 10 else f"{len(created)} digits"
    if appendix is not None and len(appendix) not in (2, 8):
        return f"appendix {appendix!r} is not 2 or 8 characters"
    return None


def _fbc_values(ctx: ScenarioContext) -> Iterator[tuple[Site, str, str, re.Match[str] | None]]:
    """(site, field, fbc, its parts) for fbc values that are neither hashed nor placeholders."""
    for site in sites(ctx, META):
        where, sent, _ = site.click_id()
        if isinstance(sent, str) and not looks_hashed(sent) and not is_placeholder(sent):
            match = FBC.match(sent)
            if match is None or not is_placeholder(match["fbclid"]):  # else PB-001's finding
                yield site, where, sent, match


@rule(id="META-001", platform="meta", severity="must", doc_url=META_FBC)
def fbc_format(ctx: ScenarioContext) -> Iterator[Violation]:
    """fbc is fb.1.<creation time in 13-digit ms>.<fbclid>[.<2- or 8-char appendix>]."""
    for site, where, fbc, match in _fbc_values(ctx):
        problem = _fbc_problem(match)
        if problem:
            yield site.violation(where, "fb.1.<13-digit ms>.<fbclid>[.<appendix>]", fbc, problem)


@rule(id="META-004", platform="meta", severity="must", doc_url=META_FBC)
def fbc_creation_time(ctx: ScenarioContext) -> Iterator[Violation]:
    """fbc creation time lies between the ad click and the request."""
    tolerance = float(ctx.setting("fbc_creation_tolerance_s"))
    for site, where, fbc, match in _fbc_values(ctx):
        if match is None or not match["time"].isdigit():
            continue
        created = int(match["time"]) / (1000.0 if len(match["time"]) >= 13 else 1.0)
        click = (ctx.conversion_for(site.entry, site.event) or {}).get("click") or {}
        ad_click = click.get("ad_click") or ctx.ad_click_by_value(match["fbclid"])
        too_late = created > float(site.entry.get("ts") or 0.0) + tolerance
        too_early = ad_click is not None and created < float(ad_click["ts"]) - tolerance
        if too_late or too_early:
            note = "creation time after the request" if too_late else "before the ad click"
            yield site.violation(
                where, "a creation time between the ad click and the request", fbc, note
            )


@rule(id="META-014", platform="meta", severity="must", doc_url=META_SERVER_EVENT)
def action_source_valid(ctx: ScenarioContext) -> Iterator[Violation]:
    """action_source is present and one of Meta's documented values."""
    for site in sites(ctx, META):
        where, value = first(site.raw, "action_source", site.prefix)
        if value not in ACTION_SOURCES:
            yield site.violation(where, "one of " + "|".join(sorted(ACTION_SOURCES)), value)


@rule(id="META-015", platform="meta", severity="must", doc_url=META_SERVER_EVENT)
def website_fields(ctx: ScenarioContext) -> Iterator[Violation]:
    """Website events carry event_source_url and user_data.client_user_agent."""
    for site in sites(ctx, META):
        if site.raw.get("action_source") != "website":
            continue
        for path in ("event_source_url", "user_data.client_user_agent"):
            where, value = first(site.raw, path, site.prefix)
            if not isinstance(value, str) or not value.strip():
                yield site.violation(where, "a non-empty value for a website event", value)


@rule(id="META-022", platform="meta", severity="must", doc_url=META_SERVER_EVENT)
def no_conversion_past_seven_days(ctx: ScenarioContext) -> Iterator[Violation]:
    """A conversion older than 7 days is not sent to Meta, whatever event_time claims."""
    limit_s = float(ctx.setting("meta_max_event_age_days")) * 86400.0
    for site in sites(ctx, META):
        conversion = ctx.conversion_for(site.entry, site.event)
        if conversion is None or not conversion.get("ts"):
            continue
        age = float(site.entry.get("ts") or 0.0) - float(conversion["ts"])
        if age > limit_s:
            where, _ = site.get("time")
            yield site.violation(
                where or site.prefix, "no event for a conversion older than 7 days",
                f"conversion {conversion.get('conversion_id')} from {age / 86400.0:.1f} days "
                "before the request",
                "Meta rejects the request (error_subcode 2804003) or, with event_time moved "
                "to now, credits the sale to the wrong day")
