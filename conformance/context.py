"""What a rule sees of one scenario run: the rows it created and the requests the mocks received.

Rules are pure functions over a `ScenarioContext`; the runner fills it from the simulator's API,
tests build it by hand. See ARCHITECTURE.md "Conformance" for the row shapes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.pairing import Pairing

Row = dict[str, Any]

# Tolerances the rules read through `ScenarioContext.setting`; a scenario may override any.
DEFAULT_SETTINGS: Mapping[str, float] = {
    "event_time_tolerance_s": 120.0,  # event time vs the conversion's timestamp
    "meta_max_event_age_days": 7.0,  # platform-rules.md section 2
    "future_tolerance_s": 600.0,  # [open] more than 10 min ahead is a finding
    "fbc_creation_tolerance_s": 120.0,  # fbc creation time vs ad click / request time
    "value_tolerance": 0.005,  # half a cent
}


def fbclid_of(value: str) -> str:
    """The fbclid inside an fbc value (`fb.1.<ms>.<fbclid>[.<appendix>]`), else the value."""
    parts = value.split(".")
    if len(parts) >= 4 and parts[0] == "fb":
        return parts[3]
    return value


def event_seconds(event: Mapping[str, Any]) -> float | None:
    """The event's epoch seconds, reading a millisecond value as what the sender meant."""
    value = event.get("event_time")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return value / 1000.0 if value > 1e11 else float(value)


def rejected_rows(entry: Mapping[str, Any]) -> dict[int, list[str]]:
    """Rows an HTTP 200 answer still rejected (Google Ads partial failure): index -> error codes.

    With partialFailure true, Google answers 200 and lists each failed row in
    partialFailureError, located by `conversions[index]`; such a row is not accepted.
    https://developers.google.com/google-ads/api/docs/best-practices/partial-failures
    """
    failure = (entry.get("response") or {}).get("partialFailureError") or {}
    rows: dict[int, list[str]] = defaultdict(list)
    for detail in failure.get("details") or []:
        for error in detail.get("errors") or []:
            path = (error.get("location") or {}).get("fieldPathElements") or [{}]
            if isinstance(path[0].get("index"), int):
                rows[path[0]["index"]] += [str(v) for v in (error.get("errorCode") or {}).values()]
    return rows


def event_accepted(entry: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """The platform took this event: its request was accepted and its row not rejected."""
    return bool(entry.get("accepted")) and event.get("index") not in rejected_rows(entry)


@dataclass
class ScenarioContext:
    """One scenario's rows and journal, plus the tolerances rules judge with."""

    scenario_id: str
    profile: Any = None
    ad_clicks: list[Row] = field(default_factory=list)
    clicks: list[Row] = field(default_factory=list)
    conversions: list[Row] = field(default_factory=list)
    deliveries: list[Row] = field(default_factory=list)
    journal: list[Row] = field(default_factory=list)
    started_at: float = 0.0
    finished_at: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    # Browser pixel events the scenario recorded (api "pixel"): context for dedup rules, never
    # judged as the receiver's requests.
    browser_events: list[Row] = field(default_factory=list)
    _pairing: Pairing | None = field(default=None, init=False, repr=False, compare=False)
    _pairing_size: int = field(default=-1, init=False, repr=False, compare=False)
    # Conversions by conversion_id and by the click ID their click carries, in list order,
    # rebuilt when the list grows: an event's lookup reads a dict instead of every conversion
    # (the inspector judges hundreds of events against hundreds of conversions).
    _index: tuple[dict[str, Row], dict[str, list[Row]]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _index_key: tuple[int, str] = field(default=(-1, ""), init=False, repr=False,
                                        compare=False)

    def value_matches(self, conversion: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
        """The event's value is the conversion's payout, within the value tolerance."""
        value = event.get("value")
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        payout = float(conversion.get("payout") or 0.0)
        return abs(value - payout) <= float(self.setting("value_tolerance"))

    def setting(self, name: str) -> Any:
        """A tolerance: the scenario's value, else the default."""
        return self.settings.get(name, DEFAULT_SETTINGS[name])

    @property
    def click_id_sub(self) -> str:
        """The Sub ID slot carrying the ad platform's click ID (profile `click_id_sub`)."""
        return self.profile_value("click_id_sub") or "sub1"

    def profile_value(self, key: str) -> Any:
        """A profile key, whether the profile is a `Profile` or plain data (tests build those)."""
        profile = self.profile
        if isinstance(profile, Mapping):
            return profile.get(key)
        return getattr(profile, key, None)

    def events(self, platform: str | None = None) -> Iterator[tuple[Row, Row]]:
        """Every (journal entry, NormalizedEvent) pair, oldest request first.

        Google Ads conversion adjustments (api `adjust`) name a conversion sent before, they
        are none of their own: only their rules (GADS-011, GADS-012) read them, from `journal`.
        """
        entries = sorted(self.journal, key=lambda e: (e.get("ts") or 0.0, e.get("id") or 0))
        for entry in entries:
            if platform is not None and entry.get("platform") != platform:
                continue
            if entry.get("api") == "adjust":
                continue
            for event in entry.get("events") or []:
                yield entry, event

    def ad_click_by_value(self, value: str | None) -> Row | None:
        """The ad click that issued exactly this click ID (byte for byte), if any."""
        if not value:
            return None
        return next((a for a in self.ad_clicks if a.get("click_id") == value), None)

    def sub_value(self, click: Mapping[str, Any] | None) -> str:
        """What the network click carried in the click-ID Sub ID slot."""
        if not click:
            return ""
        return str(click.get(self.click_id_sub) or "")

    def conversion_by_id(self, conversion_id: Any) -> Row | None:
        """The conversion whose network `conversion_id` equals this value."""
        if conversion_id in (None, ""):
            return None
        return self._conversion_index()[0].get(str(conversion_id))

    def _conversion_index(self) -> tuple[dict[str, Row], dict[str, list[Row]]]:
        key = (len(self.conversions), self.click_id_sub)
        if self._index is None or self._index_key != key:
            by_id: dict[str, Row] = {}
            by_click: dict[str, list[Row]] = {}
            for conversion in self.conversions:
                by_id.setdefault(str(conversion.get("conversion_id")), conversion)
                click = conversion.get("click")
                if not click:
                    continue
                carried = {(click.get("ad_click") or {}).get("click_id"), self.sub_value(click)}
                for value in carried:
                    if isinstance(value, str) and value:
                        by_click.setdefault(value, []).append(conversion)
            self._index, self._index_key = (by_id, by_click), key
        return self._index

    def conversion_for(self, entry: Mapping[str, Any], event: Mapping[str, Any]) -> Row | None:
        """The conversion an event stands for: by its identifiers, else (an event of this
        scenario's journal that carries none) by value, time or cause; see `conformance.pairing`.
        """
        found = self.identified_conversion(event)
        if found is not None:
            return found
        return self.pairing.events.get((entry.get("id"), event.get("index")))

    @property
    def pairing(self) -> Pairing:
        """Every event and request of the journal paired with a conversion (built once)."""
        if self._pairing is None or self._pairing_size != len(self.journal):
            self._pairing, self._pairing_size = Pairing(self), len(self.journal)
        return self._pairing

    def identified_conversion(self, event: Mapping[str, Any]) -> Row | None:
        """The conversion an event names: by dedup key, else by click ID and nearest time."""
        by_id = self.conversion_by_id(event.get("event_id"))
        if by_id is not None:
            return by_id
        click_id = event.get("click_id") or {}
        value = click_id.get("value")
        if not value:
            return None
        if click_id.get("kind") == "fbclid":
            value = fbclid_of(str(value))
        candidates = self._conversion_index()[1].get(value, [])
        if not candidates:
            return None
        # Several conversions on one click: the value tells them apart before the time does (a
        # receiver may stamp every event with the time it forwards).
        valued = [c for c in candidates if self.value_matches(c, event)]
        candidates = valued if len(valued) == 1 else candidates
        when = event_seconds(event)
        if when is None:
            return candidates[0]
        return min(candidates, key=lambda c: abs(float(c.get("ts") or 0.0) - when))
