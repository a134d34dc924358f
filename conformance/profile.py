"""The receiver profile (YAML, contract in design.md): where the receiver is and what it forwards.

Only the platforms a profile lists are tested; scenarios for the others are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.errors import ConformanceError
from conformance.schemas import SchemaError, check
from simulator import personas

PLATFORMS = ("meta", "tiktok", "google_ads", "datamanager")
DEFAULT_SOURCES: Mapping[str, str] = {
    "meta": "facebook",
    "tiktok": "tiktok",
    "google_ads": "google",
    "datamanager": "google-dm",
}
DEFAULT_SETTLE_SECONDS = 1.0
# A conversion with no click ID: Meta and TikTok take website events without one (the event then
# claims no ad click); a Google click upload has nothing to upload without a gclid.
DEFAULT_ORGANIC: Mapping[str, str] = {
    "meta": "send", "tiktok": "send", "google_ads": "withhold", "datamanager": "withhold",
}


class ProfileError(ConformanceError, ValueError):
    """The profile cannot be used; str() is one line naming the file and the key."""


@dataclass(frozen=True)
class Profile:
    """A validated receiver profile."""

    postback_url: str
    platforms: dict[str, dict[str, str]]
    click_id_sub: str = "sub1"
    click_id_overflow: tuple[str, ...] = ()
    source_sub: str | None = None
    event_id_sub: str | None = None
    sources: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SOURCES))
    organic: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ORGANIC))
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    source: str = "profile"
    network: str = personas.DEFAULT

    @property
    def receiver_address(self) -> tuple[str, int]:
        """Host and port of the receiver, from the postback URL (checked before a run)."""
        parts = urlsplit(self.postback_url.split("{", 1)[0])
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return parts.hostname or "127.0.0.1", port

    @property
    def network_postback_url(self) -> str:
        """The postback URL as the profile's network writes it: `postback_url` names the default
        network's macros and is rewritten in the network's own (`{sub1}` -> `{SubId1}`); a
        network that sends statuses also gets `status=` with its status macro."""
        persona = personas.get(self.network)
        url = persona.translate(self.postback_url)
        status = persona.macro_for("status")
        if status is not None and not re.search(r"[?&]status=", url):
            url += ("&" if "?" in url else "?") + "status=" + persona.placeholder(status.name)
        return url

    def with_network(self, network: str | None) -> Profile:
        """The same profile played by another network persona (`--network`)."""
        if not network:
            return self
        try:
            return replace(self, network=personas.get(network).name)
        except personas.PersonaError as exc:
            raise ProfileError(f"--network: {exc}") from None

    def tests(self, platform: str) -> bool:
        """True when the profile lists this platform."""
        return platform in self.platforms

    def source_value(self, platform: str) -> str:
        """What goes in `source_sub` for traffic from this platform."""
        return self.sources.get(platform, DEFAULT_SOURCES.get(platform, platform))

    def organic_policy(self, platform: str) -> str:
        """`withhold` or `send`: what the receiver should do with a conversion without click ID."""
        return self.organic.get(platform, DEFAULT_ORGANIC.get(platform, "withhold"))

    def to_dict(self) -> dict[str, Any]:
        """The profile as plain data (for reports and the rules' context)."""
        return {
            "postback_url": self.postback_url,
            "click_id_sub": self.click_id_sub,
            **({"click_id_overflow": list(self.click_id_overflow)}
               if self.click_id_overflow else {}),
            "source_sub": self.source_sub,
            "event_id_sub": self.event_id_sub,
            "sources": dict(self.sources),
            "organic": dict(self.organic),
            "platforms": {k: dict(v) for k, v in self.platforms.items()},
            "settle_seconds": self.settle_seconds,
            "network": self.network,
        }


def profile_from_mapping(data: Any, source: str = "profile") -> Profile:
    """Validate plain data against fixtures/schemas/profile.json and build a Profile."""
    try:
        check(data, "profile", source)
    except SchemaError as exc:
        raise ProfileError(str(exc)) from None
    sources = dict(DEFAULT_SOURCES)
    for key, value in (data.get("sources") or {}).items():
        sources["google_ads" if key == "google" else key] = value
    click_id_sub = data.get("click_id_sub", "sub1")
    source_sub = data.get("source_sub")
    if source_sub == click_id_sub:
        raise ProfileError(f"{source}: source_sub: must differ from click_id_sub ({click_id_sub})")
    event_id_sub = data.get("event_id_sub")
    if event_id_sub is not None and event_id_sub in (click_id_sub, source_sub):
        raise ProfileError(f"{source}: event_id_sub: must differ from click_id_sub and source_sub")
    overflow = tuple(data.get("click_id_overflow") or ())
    clash = sorted(set(overflow) & {click_id_sub, source_sub, event_id_sub})
    if clash:
        raise ProfileError(f"{source}: click_id_overflow: {', '.join(clash)} is also the "
                           "click-ID, source or event-ID slot")
    try:
        network = personas.get(data.get("network")).name
    except personas.PersonaError as exc:
        raise ProfileError(f"{source}: network: {exc}") from None
    return Profile(
        network=network,
        postback_url=data["postback_url"],
        platforms={k: {kk: str(vv) for kk, vv in v.items()} for k, v in data["platforms"].items()},
        click_id_sub=click_id_sub,
        click_id_overflow=overflow,
        source_sub=source_sub,
        event_id_sub=event_id_sub,
        sources=sources,
        organic={**DEFAULT_ORGANIC, **(data.get("organic") or {})},
        settle_seconds=float(data.get("settle_seconds", DEFAULT_SETTLE_SECONDS)),
        source=source,
    )


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file; ProfileError carries the one-line reason."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ProfileError(f"{name}: {where}{problem}") from None
    if data is None:
        raise ProfileError(f"{name}: empty profile")
    return profile_from_mapping(data, source=name)
