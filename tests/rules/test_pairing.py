"""Pairing events that carry no identifier with the scenario's conversions (conformance.pairing)."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.clock import iso


def iso_from_epoch(ts: float) -> str:
    return iso(datetime.fromtimestamp(ts, UTC))

BARE = {"event_id": "__delete__", "user_data.fbc": "__delete__"}


def delivered(s, conversion, start: float, seconds: float = 0.5) -> None:
    """The network's postback for this conversion, in flight from `start` for `seconds`."""
    s.ctx.deliveries.append({
        "id": len(s.ctx.deliveries) + 1, "conversion_id": conversion["id"],
        "redelivery_of": None,
        "attempts": [{"number": 1, "started_at": iso_from_epoch(start),
                      "latency_ms": seconds * 1000, "status_code": 200}]})


def test_an_event_with_no_identifier_is_the_only_conversions(scenario) -> None:
    conversion = scenario.converted("meta")
    entry = scenario.send("meta", conversion, **BARE)

    event = entry["events"][0]
    assert scenario.ctx.conversion_for(entry, event) is conversion
    assert scenario.ctx.pairing.reasons[(entry["id"], 0)] == "the scenario's only conversion"


def test_events_with_no_identifier_are_paired_by_value_then_by_time(scenario) -> None:
    click = scenario.click(scenario.ad_click("meta"))
    cheap = scenario.conversion(click, ts=scenario.NOW - 3000, payout=10)
    dear = scenario.conversion(click, ts=scenario.NOW - 600, payout=99)
    by_value = scenario.send("meta", dear, **BARE, event_time=int(scenario.NOW))
    by_time = scenario.send("meta", cheap, **BARE, **{"custom_data.value": 55})

    assert scenario.ctx.conversion_for(by_value, by_value["events"][0]) is dear
    assert scenario.ctx.conversion_for(by_time, by_time["events"][0]) is cheap


def test_with_nothing_else_the_postback_in_flight_names_the_conversion(scenario) -> None:
    click = scenario.click(scenario.ad_click("meta"))
    first = scenario.conversion(click, payout=10)
    second = scenario.conversion(click, payout=10)
    delivered(scenario, first, scenario.NOW - 20)
    delivered(scenario, second, scenario.NOW - 0.2)
    now = {"event_time": int(scenario.NOW) + 3600}
    entry = scenario.send("meta", first, **BARE, **now)

    assert scenario.ctx.conversion_for(entry, entry["events"][0]) is second
    assert scenario.ctx.pairing.reasons[(entry["id"], 0)].startswith("postback being handled")


def test_a_rejected_request_with_no_events_still_counts_for_its_conversion(scenario) -> None:
    conversion = scenario.converted("meta")
    delivered(scenario, conversion, scenario.NOW - 1)
    scenario.ctx.journal.append({"id": 9, "platform": "meta", "api": "capi", "body": "garbage",
                                 "status": 400, "events": [], "ts": scenario.NOW})

    requests = scenario.ctx.pairing.requests_for(conversion, "meta")

    assert [e["id"] for e in requests] == [9]


def test_an_event_on_another_platform_family_is_not_paired_with_a_meta_click(scenario) -> None:
    conversion = scenario.converted("meta")
    entry = scenario.send("tiktok", conversion, **{"event_id": "__delete__",
                                                   "user.ttclid": "__delete__"})

    assert scenario.ctx.conversion_for(entry, entry["events"][0]) is None


def test_conversions_sharing_a_click_id_are_told_apart_by_value_before_time(scenario) -> None:
    # A receiver stamping every event with the time it forwards: the time names the last one.
    click = scenario.click(scenario.ad_click("google_ads"))
    first = scenario.conversion(click, ts=scenario.NOW - 3600, payout=20)
    scenario.conversion(click, ts=scenario.NOW - 300, payout=35)  # the later one
    forwarded_now = {"orderId": "__delete__",
                     "conversionDateTime": "2026-11-01 12:00:00+00:00"}
    entry = scenario.send("google_ads", first, **forwarded_now, conversionValue=20)

    assert scenario.ctx.conversion_for(entry, entry["events"][0]) is first
