"""One load conversion as the network makes it: its click and conversion rows, the profile's
postback URL expanded by the simulator's own macros, fired by the network's HTTP client and
retried by its retry policy (`simulator.delivery` does the same for a delivery row).
"""

from __future__ import annotations

import ipaddress
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.profile import Profile
from conformance.steps import USER_AGENT
from simulator import macros, retry_policy
from simulator.config import FAST_RETRY_SCHEDULE
from simulator.http_client import HttpClient

AD_CLICK_AGO_S = 600.0  # the ad click a conversion follows, as the scenarios place it
PAYOUTS = (4.5, 12.0, 25.0, 99.99)
CURRENCIES = ("USD", "USD", "USD", "EUR", "GBP")
# RFC 2544's benchmarking block (198.18.0.0/15): a visitor address per conversion, never routed.
_VISITORS = ipaddress.IPv4Network("198.18.0.0/15")


@dataclass
class Conversion:
    """What the network knows about one load conversion, in the rows' shapes (ARCHITECTURE)."""

    platform: str
    ad_click: dict[str, Any]
    click: dict[str, Any]
    row: dict[str, Any]

    @property
    def conversion_id(self) -> str:
        return str(self.row["conversion_id"])


def make_conversion(profile: Profile, platform: str, ad_click: dict[str, Any],
                    rng: random.Random, now: float | None = None) -> Conversion:
    """A conversion on a fresh click carrying the platform's click ID in `click_id_sub`."""
    now = time.time() if now is None else now
    ip = str(_VISITORS[rng.randrange(_VISITORS.num_addresses)])
    subs = {sub: "" for sub in macros.SUB_IDS}
    subs[profile.click_id_sub] = ad_click["click_id"]
    if profile.source_sub:
        subs[profile.source_sub] = profile.source_value(platform)
    click_key, conversion_key = uuid.uuid4().hex, uuid.uuid4().hex
    # Row ids as the network's tables give them; unique without asking anyone.
    click = {"id": int(click_key[:12], 16), **subs, "unique_click_id": click_key, "ip": ip,
             "user_agent": USER_AGENT, "country": "US", "ts": now - 5.0, "ad_click": ad_click}
    row = {"id": int(conversion_key[:12], 16), "conversion_id": conversion_key,
           "kind": "conversion", "event_name": "conversion", "payout": rng.choice(PAYOUTS),
           "currency": rng.choice(CURRENCIES),
           "status": "approved", "ip": ip, "user_agent": USER_AGENT, "ts": float(int(now)),
           "click": click}
    return Conversion(platform, ad_click, click, row)


def postback_url(profile: Profile, conversion: Conversion) -> str:
    """The profile's postback URL expanded exactly as `simulator.network.firing` expands it."""
    values = macros.macro_values(conversion.row, conversion.click)
    return macros.expand(profile.postback_url, values)


@dataclass
class Attempt:
    """One postback attempt: the receiver's status (None: no answer), error, response time."""

    status: int | None
    error: str | None
    ms: float
    started: float


@dataclass
class Firing:
    """Every attempt of one postback and how it ended (`delivered` or `failed`)."""

    attempts: list[Attempt] = field(default_factory=list)
    outcome: str = "failed"


def fire(client: HttpClient, url: str, *, timeout: float,
         schedule: tuple[float, ...] = FAST_RETRY_SCHEDULE,
         sleep: Callable[[float], None] = time.sleep,
         on_attempt: Callable[[Attempt], None] | None = None) -> Firing:
    """GET the postback, retrying as the network's retry policy says (len(schedule)+1 tries)."""
    firing = Firing()
    for number in range(1, len(schedule) + 2):
        started = time.time()
        result = client.send("GET", url, timeout=timeout)
        attempt = Attempt(result.status, result.error, result.latency_ms, started)
        firing.attempts.append(attempt)
        if on_attempt is not None:
            on_attempt(attempt)
        verdict = retry_policy.judge(result, number, schedule, time.time())
        if verdict.outcome == "success":
            firing.outcome = "delivered"
            return firing
        if verdict.retry_in is None:
            return firing
        sleep(verdict.retry_in)
    return firing
