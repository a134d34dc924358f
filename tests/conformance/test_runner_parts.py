"""The runner's parts that need no simulator: addresses, time offsets, request matching, judging."""

from __future__ import annotations

import ipaddress

import pytest

from conformance.context import ScenarioContext
from conformance.expectations import Judge
from conformance.pairing import mentions as _mentions
from conformance.scenario import scenario_from_mapping
from conformance.steps import Addresses, ago_seconds


def test_addresses_are_unique_valid_and_never_a_prefix_of_one_another() -> None:
    addresses = Addresses()
    v4 = [addresses.next("ipv4") for _ in range(300)]
    v6 = [addresses.next("ipv6") for _ in range(300)]
    for address in v4 + v6:
        assert str(ipaddress.ip_address(address)) == address
    assert len(set(v4)) == len(v4)
    assert len(set(v6)) == len(v6)
    for a in v4:
        assert not any(a != b and b.startswith(a) for b in v4)


@pytest.mark.parametrize(
    ("args", "seconds"),
    [({}, 42.0), ({"days_ago": 1}, 86400.0), ({"hours_ago": 2, "minutes_ago": 30}, 9000.0)],
    ids=["default", "days", "hours-and-minutes"],
)
def test_ago_seconds_sums_the_given_units(args: dict, seconds: float) -> None:
    assert ago_seconds(args, default=42.0) == seconds


def test_requests_are_recognised_in_form_encoded_bodies_too() -> None:
    entry = {"body": "data=%5B%7B%22client_ip_address%22%3A%222001%3Adb8%3A1%3A%3A1%22%7D%5D"}
    assert _mentions(entry, ["2001:db8:1::1"])
    assert not _mentions(entry, ["198.18.100.100"])


SCENARIO = scenario_from_mapping({
    "id": "two", "title": "Two", "description": "d https://example.com", "tags": [],
    "platforms": ["meta"],
    "steps": [{"click": {"as": "c"}}, {"conversion": {"as": "a", "click": "c"}},
              {"conversion": {"as": "b", "click": "c"}}],
    "expect": {"events": [{"conversion": "*", "platform": "meta", "count": "exactly_one"}],
               "distinct_event_ids": True},
}, "two.yaml")


def meta_entry(entry_id: int, event_id: str, ts: float) -> dict:
    event = {"index": 0, "event_id": event_id, "event_time": int(ts), "value": 12.5,
             "currency": "USD", "click_id": None, "field_prefix": "data[0]"}
    return {"id": entry_id, "platform": "meta", "ts": ts, "accepted": True, "body": "",
            "events": [event]}


def judge(journal: list[dict]) -> list[str]:
    conversions = {"a": {"conversion_id": "conv-a", "ts": 1000.0, "payout": 12.5,
                         "currency": "USD", "click": None},
                   "b": {"conversion_id": "conv-b", "ts": 2000.0, "payout": 12.5,
                         "currency": "USD", "click": None}}
    ctx = ScenarioContext("two", conversions=list(conversions.values()), journal=journal)
    return [f.rule for f in Judge(SCENARIO, ctx, conversions, {"meta"}).run()]


def test_a_redelivery_with_the_same_event_id_counts_as_one_event() -> None:
    journal = [meta_entry(1, "conv-a", 1000), meta_entry(2, "conv-a", 1000),
               meta_entry(3, "conv-b", 2000)]
    assert judge(journal) == []


def test_a_missing_event_is_reported_per_conversion() -> None:
    assert judge([meta_entry(1, "conv-a", 1000)]) == ["SCN-EVENTS"]
