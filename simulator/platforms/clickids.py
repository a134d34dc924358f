"""Realistic ad-platform click IDs, issued and remembered so conversions can be attributed.

Shapes from platform-rules.md: fbclid base64url (often `IwAR...`, newer ones 100-144 chars with an
`_aem_` part), ttclid `E.C.P.` + ~150-250 chars, gclid 25-100 chars of `[A-Za-z0-9_-]`.
"""

from __future__ import annotations

import random
import string
from datetime import datetime

from simulator.clock import Clock, iso
from simulator.store import Row, Store

B64URL = string.ascii_letters + string.digits + "-_"
KIND_BY_PLATFORM = {"meta": "fbclid", "tiktok": "ttclid", "google": "gclid"}
VARIANTS = ("normal", "aem", "short", "long")
LONGEST = 256  # a "long" ttclid: "E.C.P." and 250 characters; no other kind is longer


def _chars(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(B64URL) for _ in range(n))


def _mixed_case(rng: random.Random, n: int) -> str:
    """base64url text guaranteed to hold upper- and lower-case letters (case must matter)."""
    body = [*_chars(rng, n - 2), rng.choice(string.ascii_uppercase),
            rng.choice(string.ascii_lowercase)]
    rng.shuffle(body)
    return "".join(body)


def generate(kind: str, rng: random.Random, variant: str = "normal") -> str:
    """One click ID of the given kind (fbclid, ttclid, gclid)."""
    if kind == "fbclid":
        if variant == "aem":
            return "IwY2xjawF" + _mixed_case(rng, rng.randint(60, 90)) + "_aem_" + _chars(rng, 22)
        length = {"short": 60, "long": 150}.get(variant, rng.randint(61, 100))
        return "IwAR" + _mixed_case(rng, length - 4)
    if kind == "ttclid":
        length = {"short": 150, "long": 250}.get(variant, rng.randint(150, 250))
        return "E.C.P." + _mixed_case(rng, length)
    if kind == "gclid":
        length = {"short": 25, "long": 100}.get(variant, rng.randint(40, 96))
        return "Cj0KCQ" + _mixed_case(rng, length - 6)
    raise ValueError(f"unknown click ID kind {kind!r}; expected fbclid, ttclid or gclid")


def issue(
    store: Store,
    clock: Clock,
    rng: random.Random,
    platform: str,
    *,
    at: datetime | None = None,
    variant: str = "normal",
) -> Row:
    """Simulate an ad click on `platform` (meta, tiktok, google): the platform now knows the ID."""
    kind = KIND_BY_PLATFORM[platform]
    when = at or clock.now()
    click_id = generate(kind, rng, variant)
    row_id = store.insert(
        "ad_clicks",
        {
            "platform": platform,
            "kind": kind,
            "click_id": click_id,
            "variant": variant,
            "created_at": iso(when),
            "ts": when.timestamp(),
        },
    )
    return store.get("ad_clicks", row_id) or {}
