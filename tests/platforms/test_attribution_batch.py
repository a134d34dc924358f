"""The batched click lookup answers exactly as one query per value would."""

from __future__ import annotations

import random

import pytest

from simulator.platforms import clickids
from simulator.platforms.attribution import attribute, issued_clicks
from simulator.platforms.meta_events import pii_findings
from simulator.store import Store

BASE = "Cj0KCQiAcasechangedGCLIDvalue0123"


@pytest.fixture
def store() -> Store:
    db = Store(":memory:")
    yield db
    db.close()


def _issue(store: Store, click_id: str, ts: float = 1_000.0) -> int:
    return store.insert("ad_clicks", {"platform": "google", "kind": "gclid",
                                      "click_id": click_id, "created_at": "x", "ts": ts})


def test_two_near_matches_for_one_value_pick_the_lowest_id_as_the_single_query_did(store):
    first = _issue(store, BASE)
    _issue(store, BASE.upper())
    value = BASE.lower()
    batched = attribute(store, "gclid", value, event_ts=2_000.0, window_days=90,
                        issued=issued_clicks(store, "gclid", [value]))
    single = attribute(store, "gclid", value, event_ts=2_000.0, window_days=90)
    assert batched == single
    assert batched["status"] == "modified"
    assert batched["ad_click_id"] == first


def test_more_unknown_ids_than_one_query_holds_are_all_looked_up(store):
    issued = [_issue(store, f"{BASE}{n:04d}") for n in range(3)]
    unknown = [f"unknownGCLIDvalue-{n:04d}-xxxxxxxx" for n in range(1_200)]
    mangled = [f"{BASE}{n:04d}".lower() for n in range(3)]
    found = issued_clicks(store, "gclid", unknown + mangled)
    assert len(found.near) == 1_203
    assert all(found.near[v] is None for v in unknown)
    assert [found.near[v]["id"] for v in mangled] == issued


@pytest.mark.parametrize(
    ("ip", "valid"),
    [("203.0.113.7", True), ("0.0.0.0", True), ("255.255.255.255", True),
     ("2001:db8::1", True), ("01.2.3.4", False), ("256.1.1.1", False), ("1.2.3", False),
     ("1.2.3.4.5", False), ("not an ip", False)],
    ids=["ipv4", "zeros", "broadcast", "ipv6", "leading-zero", "octet-256", "three-octets",
         "five-octets", "text"],
)
def test_client_ip_validity_matches_the_ipaddress_module(ip, valid):
    codes = [f["code"] for f in pii_findings({"client_ip_address": ip}, "data[0].user_data")]
    assert ("client_ip_invalid" not in codes) is valid


def test_a_conversion_in_the_same_second_as_its_click_does_not_precede_it(store):
    _issue(store, BASE, ts=1_000.75)
    same_second = attribute(store, "gclid", BASE, event_ts=1_000, window_days=90)
    second_before = attribute(store, "gclid", BASE, event_ts=999, window_days=90)
    assert same_second["status"] == "matched"
    assert second_before["status"] == "precedes"


# The near-match rule as one scan of ad_clicks in id order stated it, before the lookups were
# indexed: the reference the indexed lookups must agree with.
_SCAN = ("SELECT * FROM ad_clicks WHERE kind = ? AND (lower(click_id) = lower(?) "
         "OR (length(?) >= 20 AND (instr(click_id, ?) = 1 OR instr(?, click_id) = 1))) "
         "ORDER BY id LIMIT 1")


def test_indexed_near_matches_agree_with_a_scan_of_every_issued_click(store):
    rng = random.Random(7)
    issued = [clickids.generate("gclid", rng, "long"),
              *(clickids.generate("gclid", rng, rng.choice(clickids.VARIANTS)) for _ in range(59))]
    for click_id in issued:
        _issue(store, click_id)
    _issue(store, issued[0][:30])  # an issued ID that is a prefix of another
    values = [
        *(c.swapcase() for c in issued[:10]),           # case changed
        *(c[:-3] for c in issued[10:20]),               # truncated
        *(c + "&x=1" for c in issued[20:30]),           # text appended
        issued[0][:25], issued[1][:19], "Cj0", "unknown-gclid-value-0123456789",
    ]
    found = issued_clicks(store, "gclid", values)
    for value in values:
        expected = store.query_one(_SCAN, ("gclid", value, value, value, value))
        assert found.near[value] == expected, value
        assert attribute(store, "gclid", value, event_ts=2_000.0, window_days=90,
                         issued=found) == attribute(store, "gclid", value, event_ts=2_000.0,
                                                    window_days=90)
    assert sum(found.near[v] is not None for v in values) == 31
