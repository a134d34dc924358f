"""Playing a scenario's steps through the simulator and remembering what they created.

Every value a scenario creates is unique per run (click IDs come from the platforms, conversion
IDs from the network, visitor IPs from `Addresses`), so concurrent scenarios can tell their
platform requests apart.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from conformance.profile import Profile
from conformance.scenario import Scenario, Step
from conformance.simclient import SimClient, SimulatorError

USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
KIND_BY_PLATFORM = {"meta": "fbclid", "tiktok": "ttclid", "google_ads": "gclid",
                    "datamanager": "gclid"}
# Variants the platform issues (sent to /api/ad-clicks); mixed case is what every ID already is.
ISSUED_VARIANTS = {"normal": "normal", "aem": "aem", "short": "short", "long": "long",
                   "mixed_case": "normal"}
CLICK_DELAY_S = 5.0  # a tracking-link click lands a few seconds after its ad click


PIXEL_KEYS = {"meta": "pixel_id", "tiktok": "pixel_code"}


def seconds_since_utc_time(hh_mm: str, now: float, at_least: float = 0.0) -> float:
    """Seconds back to the latest moment with this UTC time of day at least `at_least` ago."""
    hour, minute = (int(part) for part in hh_mm.split(":"))
    latest = now - at_least
    day = datetime.fromtimestamp(latest, UTC).replace(hour=hour, minute=minute, second=0,
                                                      microsecond=0)
    if day.timestamp() > latest:
        day -= timedelta(days=1)
    return now - day.timestamp()


class StepError(RuntimeError):
    """A step could not be played (the harness's problem, not the receiver's)."""


class Addresses:
    """Unique visitor IPs for one run; fixed width so no address is a prefix of another."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self, family: str = "ipv4") -> str:
        with self._lock:
            n = next(self._counter)
        if family == "ipv6":
            # Canonical (compressed) text, as receivers that normalise addresses send it.
            address = f"2001:db8:{n // 65536 + 1:x}:{n % 65536:x}::{n % 65536 + 4096:x}"
            return str(ipaddress.ip_address(address))
        return f"198.{18 + n // 10000}.{100 + n // 100 % 100}.{100 + n % 100}"


def ago_seconds(args: dict[str, Any], default: float = 0.0) -> float:
    """days_ago + hours_ago + minutes_ago in seconds, or the default when none is given."""
    keys = ("days_ago", "hours_ago", "minutes_ago")
    if not any(k in args for k in keys):
        return default
    return (args.get("days_ago", 0) * 86400.0 + args.get("hours_ago", 0) * 3600.0
            + args.get("minutes_ago", 0) * 60.0)


@dataclass
class Played:
    """What one scenario created, by step name."""

    ad_clicks: dict[str, dict[str, Any]] = field(default_factory=dict)
    clicks: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversions: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivery_ids: dict[str, list[int]] = field(default_factory=dict)
    ips: set[str] = field(default_factory=set)
    browser_event_ids: set[int] = field(default_factory=set)  # journal ids of pixel events

    @property
    def issued_click_ids(self) -> list[str]:
        return [a["click_id"] for a in self.ad_clicks.values() if a.get("id")]

    @property
    def all_delivery_ids(self) -> list[int]:
        return [d for ids in self.delivery_ids.values() for d in ids]


class StepPlayer:
    """Plays one scenario's steps in order against the simulator."""

    def __init__(self, client: SimClient, profile: Profile, addresses: Addresses,
                 offer_id: int = 1, delivery_timeout: float = 15.0) -> None:
        self.client = client
        self.profile = profile
        self.addresses = addresses
        self.offer_id = offer_id
        self.delivery_timeout = delivery_timeout

    def play(self, scenario: Scenario) -> Played:
        played = Played()
        for index, step in enumerate(scenario.steps):
            try:
                getattr(self, f"_{step.kind}")(step, played)
            except (StepError, SimulatorError) as exc:
                raise StepError(f"steps[{index}] {step.kind}: {exc}") from None
        return played

    def _ad_click(self, step: Step, played: Played) -> None:
        args = step.args
        platform, variant = args["platform"], args.get("variant", "normal")
        ago = ago_seconds(args, default=1800.0)
        if variant in ISSUED_VARIANTS:
            row = self.client.ad_click(platform, ISSUED_VARIANTS[variant], ago)
            row = {**row, "sub_value": row["click_id"]}
        else:
            kind = KIND_BY_PLATFORM[platform]
            sub_value = {"placeholder": f"{{{kind}}}", "undefined": "undefined"}.get(variant, "")
            row = {"id": None, "kind": kind, "click_id": None, "sub_value": sub_value}
        played.ad_clicks[step.name] = {**row, "profile_platform": platform,
                                       "scenario_variant": variant, "ago_seconds": ago}

    def _click(self, step: Step, played: Played) -> None:
        args = step.args
        ad = played.ad_clicks.get(args.get("ad_click", ""))
        subs = dict(args.get("subs") or {})
        taken = {self.profile.click_id_sub, self.profile.source_sub,
                 *self.profile.click_id_overflow} & set(subs)
        if taken:
            raise StepError(f"subs: {', '.join(sorted(taken))} is the profile's click-ID or "
                            "source slot")
        subs[self.profile.click_id_sub] = ad["sub_value"] if ad else ""
        platform = args.get("platform") or (ad["profile_platform"] if ad else None)
        if args.get("pixel_event"):
            subs[self.profile.event_id_sub] = self._pixel_event(args["pixel_event"], platform,
                                                                played)
        source = args.get("source", self.profile.source_value(platform) if platform else "")
        if self.profile.source_sub:
            subs[self.profile.source_sub] = source
        ip = args.get("ip", "ipv4")
        if ip in ("ipv4", "ipv6"):
            ip = self.addresses.next(ip)
        played.ips.add(ip)
        default_ago = max(0.0, ad["ago_seconds"] - CLICK_DELAY_S) if ad else 900.0
        row = self.client.click(
            offer_id=self.offer_id, subs=subs, ip=ip,
            user_agent=args.get("user_agent", USER_AGENT), country=args.get("country", "US"),
            ago_seconds=ago_seconds(args, default=default_ago),
        )
        played.clicks[step.name] = {**row, "ad_click": ad if ad and ad.get("id") else None}

    def _pixel_event(self, event_name: str, platform: str | None, played: Played) -> str:
        """The landing page's pixel reports the event with a fresh ID; returns the ID."""
        if platform not in PIXEL_KEYS or not self.profile.event_id_sub:
            raise StepError(f"pixel_event needs a meta or tiktok click and the profile's "
                            f"event_id_sub (platform {platform!r})")
        event_id = f"px-{uuid.uuid4().hex}"
        pixel = self.profile.platforms.get(platform, {}).get(PIXEL_KEYS[platform], "")
        entry = self.client.pixel_event(platform, event_name, event_id, pixel)
        played.browser_event_ids.add(entry["id"])
        return event_id

    def _conversion(self, step: Step, played: Played) -> None:
        args = step.args
        click = played.clicks[args["click"]]
        ago = ago_seconds(args)
        if args.get("utc_time"):
            ago = seconds_since_utc_time(args["utc_time"], time.time(), ago)
        row = self.client.conversion(
            click=click["unique_click_id"], payout=args.get("payout"),
            currency=args.get("currency"), status=args.get("status", "approved"),
            ago_seconds=ago,
        )
        self._remember(step.name, {**row, "click": click}, played)
        if args.get("wait") and played.delivery_ids[step.name]:
            self.client.wait_delivered(played.delivery_ids[step.name], self.delivery_timeout)

    def _enable_postbacks(self, step: Step, played: Played) -> None:
        """The partner fixes the endpoint and enables the disabled postbacks again."""
        self.client.enable_postbacks()

    def _event(self, step: Step, played: Played) -> None:
        args = step.args
        parent = played.conversions[args["conversion"]]
        row = self.client.conversion(
            parent=parent["conversion_id"], kind="event", event_name=args["event_name"],
            payout=args.get("payout"), currency=args.get("currency"),
            status=args.get("status", "approved"), ago_seconds=ago_seconds(args),
        )
        self._remember(step.name, {**row, "click": parent["click"]}, played)

    def _remember(self, name: str, row: dict[str, Any], played: Played) -> None:
        played.conversions[name] = row
        played.delivery_ids[name] = self.client.delivery_ids(row)

    def _redeliver(self, step: Step, played: Played) -> None:
        name = step.args["conversion"]
        ids = played.delivery_ids.get(name) or []
        if not ids:
            raise StepError(f"{name} fired no postback to redeliver (is it approved?)")
        # The network retries only after the first attempt ended (the receiver "timed out").
        self.client.wait_delivered(ids, self.delivery_timeout)
        for _ in range(step.args.get("times", 1)):
            replayed = self.client.replay(ids[0])
            played.delivery_ids[name].append(replayed["id"])
            self.client.wait_delivered([replayed["id"]], self.delivery_timeout)

    def _status(self, step: Step, played: Played) -> None:
        """The network moves the conversion; what the move fires joins its deliveries, and the
        row keeps its status (so rules see a reversal) and when each move was made."""
        name, status = step.args["conversion"], step.args["to"]
        before = played.conversions[name]
        ids = played.delivery_ids.get(name) or []
        if ids:  # the earlier postback is sent first, as a real network's would be
            self.client.wait_delivered(ids, self.delivery_timeout)
        row = self.client.set_status(before["conversion_id"], status)
        moves = [*before.get("moves", []), {"status": status, "at": time.time()}]
        played.conversions[name] = {**before, **row, "click": before["click"], "moves": moves}
        new = [i for i in self.client.delivery_ids(row) if i not in ids]
        played.delivery_ids[name] = [*ids, *new]
        if new:
            self.client.wait_delivered(new, self.delivery_timeout)

    def _fault(self, step: Step, played: Played) -> None:
        args = step.args
        self.client.arm_fault(args["platform"], args["kind"], status=args.get("status"),
                              retry_after=args.get("retry_after"), delay=args.get("delay"),
                              count=args.get("count", 1))
