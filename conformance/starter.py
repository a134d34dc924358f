"""The starter profile `postback-sim init` writes: every key of a receiver profile, commented, so a
new user edits one file instead of copying one out of site-packages."""

from __future__ import annotations

from collections.abc import Iterable

from conformance.profile import DEFAULT_ORGANIC, DEFAULT_SOURCES, PLATFORMS

DEFAULT_POSTBACK_URL = (
    "http://127.0.0.1:9000/postback?click_id={sub1}&source={sub2}&payout={payout_amount}"
    "&currency={offer_currency}&txn={conversion_id}&ts={timestamp}&ip={user_ip}&ua={user_agent}"
)
# The ids the bundled receivers use, and what each one is on the platform's side.
PLATFORM_LINES = {
    "meta": ('meta: {pixel_id: "1234567890"}', "Meta pixel (dataset) ID"),
    "tiktok": ('tiktok: {pixel_code: "CTESTPIXEL123"}', "TikTok pixel code"),
    "google_ads": ('google_ads: {customer_id: "1234567890", conversion_action_id: "987654321"}',
                   "Google Ads customer and conversion action"),
    "datamanager": ('datamanager: {account_id: "1234567890", destination_id: "987654321"}',
                    "Data Manager account and destination"),
}
MOCK_PREFIXES = {"meta": "/meta", "tiktok": "/tiktok", "google_ads": "/google-ads",
                 "datamanager": "/datamanager"}


def _flow(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in mapping.items()) + "}"


def starter_profile(platforms: Iterable[str] = PLATFORMS,
                    postback_url: str = DEFAULT_POSTBACK_URL) -> str:
    """The commented YAML of a profile testing `platforms` (in catalogue order)."""
    chosen = [p for p in PLATFORMS if p in set(platforms)]
    mocks = ", ".join(f"http://127.0.0.1:8000{MOCK_PREFIXES[p]}" for p in chosen)
    width = max(len(PLATFORM_LINES[p][0]) for p in chosen)
    platform_lines = "\n".join(
        f"  {PLATFORM_LINES[p][0]:<{width}}  # {PLATFORM_LINES[p][1]}" for p in chosen)
    url = postback_url.replace("\\", "\\\\").replace('"', '\\"')
    return f"""\
# postback-sim receiver profile: how the simulator reaches your receiver and what it forwards.
# 1. Start your receiver with its platform base URLs pointed at the simulator's mocks:
#    {mocks}
# 2. postback-sim run --profile receiver.yaml   (exit 0 pass, 1 conformance failure, 2 error)

# The postback template the network calls on every conversion; {{macros}} are filled in.
# Macros: {{sub1}}..{{sub5}} {{payout_amount}} {{offer_currency}} {{conversion_id}} {{timestamp}}
# {{user_ip}} {{user_agent}} and more (postback-sim serve: Advanced > Postbacks lists them).
postback_url: "{url}"

# The Sub ID slot (sub1..sub5) that carries the ad platform's click ID.
click_id_sub: sub1
# The slot that names the traffic source, and the value put in it for each platform.
source_sub: sub2
sources: {_flow({p: DEFAULT_SOURCES[p] for p in chosen})}
# Optional: the slot your landing page fills with the browser pixel's event ID. With it the
# *-pixel-dedup scenarios expect your server event to reuse that ID; without it they are skipped.
# event_id_sub: sub3

# Only the platforms listed here are tested. Use the ids your receiver is configured with.
platforms:
{platform_lines}

# A conversion without a click ID: send (it may go out, without any click ID) or withhold.
organic: {_flow({p: DEFAULT_ORGANIC[p] for p in chosen})}

# Seconds to wait after each scenario for late or unwanted platform requests.
settle_seconds: 1.0
"""
