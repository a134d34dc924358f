"""ScenarioContext: iterating events and finding the conversion an event stands for."""

from __future__ import annotations

from conformance.context import ScenarioContext


def test_events_yields_entries_oldest_first_and_filters_by_platform(scenario) -> None:
    later = scenario.send("meta", scenario.converted("meta"), ts=scenario.NOW + 10)
    earlier = scenario.send("tiktok", scenario.converted("tiktok"), ts=scenario.NOW)

    assert [e["id"] for e, _ in scenario.ctx.events()] == [earlier["id"], later["id"]]
    assert [e["id"] for e, _ in scenario.ctx.events("meta")] == [later["id"]]


def test_conversion_for_matches_the_event_id_to_a_conversion_id(scenario) -> None:
    conversion = scenario.converted("meta")
    entry = scenario.send("meta", conversion)

    assert scenario.ctx.conversion_for(entry, entry["events"][0]) is conversion


def test_conversion_for_falls_back_to_the_click_id_and_the_nearest_time(
    scenario,
) -> None:
    click = scenario.click(scenario.ad_click("meta"))
    early = scenario.conversion(click, ts=scenario.NOW - 900)
    late = scenario.conversion(click, ts=scenario.NOW - 300)
    entry = scenario.send("meta", late, event_id="random-uuid")

    found = scenario.ctx.conversion_for(entry, entry["events"][0])

    assert found is late
    assert found is not early


def test_conversion_for_reads_the_fbclid_inside_a_whole_fbc_value(scenario) -> None:
    conversion = scenario.converted("meta")
    event = {
        "event_id": None,
        "event_time": int(scenario.NOW - 600),
        "click_id": {
            "kind": "fbclid",
            "value": f"fb.1.{int(scenario.NOW * 1000)}.{scenario.FBCLID}",
        },
    }

    assert scenario.ctx.conversion_for({}, event) is conversion


def test_conversion_for_is_none_when_nothing_links_the_event(scenario) -> None:
    scenario.converted("meta")
    event = {"event_id": "other", "click_id": {"kind": "fbclid", "value": "IwARunknown"}}

    assert scenario.ctx.conversion_for({}, event) is None


def test_ad_click_by_value_is_byte_exact(scenario) -> None:
    ad = scenario.ad_click("meta")

    assert scenario.ctx.ad_click_by_value(scenario.FBCLID) is ad
    assert scenario.ctx.ad_click_by_value(scenario.FBCLID.lower()) is None
    assert scenario.ctx.ad_click_by_value("") is None


def test_settings_override_defaults_and_profile_may_be_an_object() -> None:
    class Profile:
        click_id_sub = "sub3"

    ctx = ScenarioContext("s", profile=Profile(), settings={"event_time_tolerance_s": 5})

    assert ctx.setting("event_time_tolerance_s") == 5
    assert ctx.setting("meta_max_event_age_days") == 7.0
    assert ctx.click_id_sub == "sub3"
