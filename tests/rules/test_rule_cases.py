"""Every rule against a planted mistake: each yields its finding, naming the field."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest

from conformance.rules import all_rules
from simulator.clock import iso

DELETE = "__delete__"  # conftest.DELETE: an override that removes the field
DAY = 86400.0
Plant = Callable[[Any], None]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fbc_part(index: int, change: Callable[[str], str]) -> Callable[[str], str]:
    """A transform of an fbc value changing one dot-separated part."""
    return lambda fbc: ".".join(
        change(p) if i == index else p for i, p in enumerate(fbc.split("."))
    )


def issued(conversion: dict) -> str:
    return conversion["click"]["ad_click"]["click_id"]


def one(platform: str, api: str | None = None, **overrides: Any) -> Plant:
    """A case: one conversion on an ad click, one request whose event has these overrides."""

    return lambda s: s.send_converted(platform, api, **overrides)


def redelivered_with_new_id(platform: str, field: str) -> Plant:
    def plant(s) -> None:
        conversion = s.converted(platform)
        s.send(platform, conversion, **{field: "first-id"})
        s.send(platform, conversion, ts=s.NOW + 30, **{field: "second-id"})

    return plant


def two_conversions_one_id(platform: str, field: str) -> Plant:
    def plant(s) -> None:
        click = s.click(s.ad_click(platform))
        for ts in (s.NOW - 900, s.NOW - 300):
            s.send(platform, s.conversion(click, ts=ts), **{field: "uc-1"})

    return plant


def redelivered_without_id(platform: str, field: str) -> Plant:
    """A conversion the platform took twice, neither time with a dedup key."""

    def plant(s) -> None:
        conversion = s.converted(platform)
        s.send(platform, conversion, **{field: DELETE})
        s.send(platform, conversion, ts=s.NOW + 30, **{field: DELETE})

    return plant


def plant_undefined_ttclid_in_events1_field(s) -> None:
    conversion = s.converted("tiktok")
    s.send("tiktok", conversion, **{"user.ttclid": DELETE, "context.ad.callback": "undefined"})


def plant_fabricated_ttclid_in_events1_field(s) -> None:
    conversion = s.conversion(s.click(None, sub1=""))
    s.send("tiktok", conversion, **{"user.ttclid": DELETE,
                                    "context.ad.callback": "E.C.P.madeupfromthetxn"})


def plant_test_event_code(platform: str, form: bool = False) -> Plant:
    """A request carrying test_event_code: in the JSON body, or (Meta) in a form-encoded one."""

    def plant(s) -> None:
        entry = s.send_converted(platform)
        body = json.loads(entry["body"])
        body["test_event_code"] = "TEST4821"
        entry["body"] = (urlencode({"data": json.dumps(body["data"]),
                                    "test_event_code": "TEST4821"}) if form
                         else json.dumps(body))

    return plant


def ttclid_moved_to(api: str, wrong: str, right: str) -> Plant:
    def plant(s) -> None:
        conversion = s.converted("tiktok")
        s.send("tiktok", conversion, api, **{right: DELETE, wrong: issued(conversion)})

    return plant


def plant_meta_too_old(s) -> None:
    ad = s.ad_click("meta", ts=s.NOW - 9 * DAY)
    s.send("meta", s.conversion(s.click(ad, ts=s.NOW - 9 * DAY), ts=s.NOW - 8 * DAY))


def plant_partial_failure_false(s) -> None:
    conversion = s.converted("google_ads")
    s.request("google_ads", [s.event("google_ads", conversion)], partialFailure=False)


def plant_retraction_of_new_order_id(s) -> None:
    conversion = s.converted("google_ads")
    s.send("google_ads", conversion)
    s.adjust(conversion, orderId=conversion["conversion_id"] + "-reversal")


def plant_retraction_of_unsent_conversion(s) -> None:
    s.adjust(s.converted("google_ads"))


def plant_restatement(restated: dict) -> Plant:
    def plant(s) -> None:
        conversion = s.converted("google_ads")
        s.send("google_ads", conversion)
        s.adjust(conversion, "RESTATEMENT", restatementValue=restated)

    return plant


def plant_missing_encoding(s) -> None:
    conversion = s.converted("datamanager")
    s.request("datamanager", [s.event("datamanager", conversion)], encoding=None)


def plant_fabricated_fbc(s) -> None:
    conversion = s.conversion(s.click(None, sub1=""))
    s.send("meta", conversion, **{"user_data.fbc": f"fb.1.{int(s.NOW * 1000)}.IwARmadeup"})


PROFILE_IDS = {
    "meta": {"pixel_id": "111"},
    "tiktok": {"pixel_code": "CGOOD"},
    "google_ads": {"customer_id": "123", "conversion_action_id": "9"},
    "datamanager": {"account_id": "123", "destination_id": "9"},
}


def with_profile(s, **extra: Any) -> None:
    s.ctx.profile = {"click_id_sub": "sub1", "platforms": PROFILE_IDS, **extra}


def plant_other_meta_pixel(s) -> None:
    with_profile(s)
    s.send_converted("meta")["path"] = "/meta/v21.0/999/events"


def plant_other_tiktok_pixel(s) -> None:
    with_profile(s)
    conversion = s.converted("tiktok")
    s.request("tiktok", [s.event("tiktok", conversion)], event_source_id="CWRONG")


def plant_other_conversion_action(s) -> None:
    with_profile(s)
    s.send_converted("google_ads", conversionAction="customers/123/conversionActions/2")


def plant_other_datamanager_account(s) -> None:
    with_profile(s)
    conversion = s.converted("datamanager")
    s.request("datamanager", [s.event("datamanager", conversion)],
              destinations=[{"operatingAccount": {"accountId": "555"},
                             "productDestinationId": "9"}])


def plant_early_retry(s) -> None:
    conversion = s.converted("google_ads")
    first = s.send("google_ads", conversion)
    first.update(status=429, accepted=False, fault="status 429 Retry-After 1")
    s.send("google_ads", conversion, ts=s.NOW + 0.2)


def plant_plain_answer_to_tune(s) -> None:
    with_profile(s, network="tune")
    s.ctx.deliveries.append({"id": 1, "conversion_id": 1, "attempts": [
        {"number": 1, "status_code": 200, "response_body": "OK"}]})


def plant_meta_late_sent_as_now(s) -> None:
    ad = s.ad_click("meta", ts=s.NOW - 9 * DAY)
    s.send("meta", s.conversion(s.click(ad, ts=s.NOW - 9 * DAY), ts=s.NOW - 8 * DAY),
           event_time=int(s.NOW))


def plant_events1_body_on_events2_url(s) -> None:
    conversion = s.converted("tiktok")
    entry = s.send("tiktok", conversion, "events1")
    entry.update(api="events2", path="/tiktok/open_api/v1.3/event/track/",
                 body=json.dumps(s.event("tiktok", conversion, "events1")), events=[])


def pixel_reported(platform: str, event_name: str) -> Plant:
    def plant(s) -> None:
        with_profile(s, event_id_sub="sub3")
        conversion = s.converted(platform)
        conversion["click"]["sub3"] = "px-1"
        s.ctx.browser_events.append({"platform": platform, "api": "pixel", "events": [
            {"event_id": "px-1", "event_name": event_name}]})
        s.send(platform, conversion)

    return plant


FBC = "user_data.fbc"
ANY_DIGEST_UPPER = sha256("x").upper()

CASES = [
    # rule, plant, the field path the message starts with, text the message contains
    ("META-020", plant_other_meta_pixel, "request path pixel_id", "'999'"),
    ("TIKTOK-014", plant_other_tiktok_pixel, "event_source_id", "'CWRONG'"),
    ("GADS-010", plant_other_conversion_action, "conversions[0].conversionAction",
     "conversionActions/2"),
    ("DM-011", plant_other_datamanager_account, "destinations[0].operatingAccount.accountId",
     "'555'"),
    ("RETRY-001", plant_early_retry, "retry", "0.20 s later"),
    ("PB-003", plant_plain_answer_to_tune, "postback 1 attempt 1: answer body", "'OK'"),
    ("META-022", plant_meta_late_sent_as_now, "data[0].event_time", "8.0 days"),
    ("META-021", pixel_reported("meta", "Purchase"), "data[0].event_id", "'px-1'"),
    ("TIKTOK-015", pixel_reported("tiktok", "CompletePayment"), "data[0].event_id", "'px-1'"),
    ("TIKTOK-016", plant_events1_body_on_events2_url, "request body",
     "Events 1.0 body (pixel_code, event, context, timestamp)"),
    (
        "META-001",
        one("meta", **{FBC: fbc_part(2, lambda t: t[:10])}),
        "data[0].user_data.fbc",
        "creation time in seconds",
    ),
    (
        "META-001",
        one("meta", **{FBC: lambda fbc: fbc + ".abc"}),
        "data[0].user_data.fbc",
        "appendix",
    ),
    ("META-002", one("meta", **{FBC: sha256}), "data[0].user_data.fbc", "never hashed"),
    (
        "META-003",
        one("meta", **{FBC: fbc_part(3, str.lower)}),
        "data[0].user_data.fbc",
        "case changed",
    ),
    (
        "META-003",
        one("meta", **{FBC: fbc_part(3, lambda c: c[:40])}),
        "data[0].user_data.fbc",
        "truncated to 40 of 61",
    ),
    (
        "META-004",
        one("meta", **{FBC: fbc_part(2, lambda t: str(int(t) - 2 * 86400000))}),
        "data[0].user_data.fbc",
        "before the ad click",
    ),
    ("META-005", one("meta", event_time=lambda t: t * 1000), "data[0].event_time", "milliseconds"),
    ("META-005", one("meta", event_time=str), "data[0].event_time", "not a number"),
    ("META-006", one("meta", event_time=lambda t: t + 600), "data[0].event_time", "off by +600s"),
    ("META-007", plant_meta_too_old, "data[0].event_time", "8.0 days old"),
    (
        "META-008",
        one("meta", event_time=lambda t: t + 4200),
        "data[0].event_time",
        "3600s in the future",
    ),
    ("META-009", one("meta", event_id=DELETE), "data[0].event_id", "got nothing"),
    ("META-010", redelivered_with_new_id("meta", "event_id"), "data[0].event_id", "reuse"),
    ("META-011", two_conversions_one_id("meta", "event_id"), "data[0].event_id", "conv-1"),
    (
        "META-012",
        one("meta", **{"custom_data.value": lambda v: v * 100}),
        "data[0].custom_data.value",
        "cents",
    ),
    (
        "META-013",
        one("meta", **{"custom_data.currency": "eur"}),
        "data[0].custom_data.currency",
        "'eur'",
    ),
    ("META-014", one("meta", action_source="web"), "data[0].action_source", "'web'"),
    ("META-014", one("meta", action_source=DELETE), "data[0].action_source", "got nothing"),
    ("META-015", one("meta", event_source_url=DELETE), "data[0].event_source_url", "website"),
    (
        "META-015",
        one("meta", **{"user_data.client_user_agent": ""}),
        "data[0].user_data.client_user_agent",
        "website",
    ),
    (
        "META-016",
        one("meta", **{"user_data.em": "john_smith@gmail.com"}),
        "data[0].user_data.em",
        "plain e-mail",
    ),
    (
        "META-016",
        one("meta", **{"user_data.ph": [ANY_DIGEST_UPPER]}),
        "data[0].user_data.ph[0]",
        "upper-case hex",
    ),
    (
        "META-017",
        one("meta", **{"user_data.client_ip_address": sha256}),
        "data[0].user_data.client_ip_address",
        "never hashed",
    ),
    (
        "META-018",
        one("meta", **{"user_data.client_ip_address": "203.0.113.999"}),
        "data[0].user_data.client_ip_address",
        "valid IPv4 or IPv6",
    ),
    (
        "META-019",
        one("meta", **{"user_data.client_ip_address": "198.51.100.1"}),
        "data[0].user_data.client_ip_address",
        "'203.0.113.7'",
    ),
    (
        "TIKTOK-001",
        ttclid_moved_to("events2", "context.ad.callback", "user.ttclid"),
        "data[0].context.ad.callback",
        "user.ttclid (Events 2.0)",
    ),
    (
        "TIKTOK-001",
        ttclid_moved_to("events1", "user.ttclid", "context.ad.callback"),
        "user.ttclid",
        "context.ad.callback (Events 1.0)",
    ),
    (
        "TIKTOK-002",
        one("tiktok", **{"user.ttclid": lambda v: v[:60]}),
        "data[0].user.ttclid",
        "truncated",
    ),
    (
        "TIKTOK-002",
        one("tiktok", "events1", **{"context.ad.callback": str.upper}),
        "context.ad.callback",
        "case changed",
    ),
    (
        "TIKTOK-003",
        one("tiktok", event_time=lambda t: t * 1000),
        "data[0].event_time",
        "milliseconds",
    ),
    (
        "TIKTOK-003",
        one("tiktok", "events1", timestamp=lambda t: t.rstrip("Z")),
        "timestamp",
        "no timezone offset",
    ),
    (
        "TIKTOK-004",
        one("tiktok", event_time=lambda t: t + 600),
        "data[0].event_time",
        "off by +600s",
    ),
    ("TIKTOK-005", one("tiktok", event_id=""), "data[0].event_id", "non-empty"),
    ("TIKTOK-006", redelivered_with_new_id("tiktok", "event_id"), "data[0].event_id", "reuse"),
    ("TIKTOK-007", two_conversions_one_id("tiktok", "event_id"), "data[0].event_id", "conv-1"),
    (
        "TIKTOK-008",
        one("tiktok", **{"properties.value": "twelve"}),
        "data[0].properties.value",
        "12.5",
    ),
    (
        "TIKTOK-009",
        one("tiktok", **{"properties.currency": str.lower}),
        "data[0].properties.currency",
        "case differs",
    ),
    (
        "TIKTOK-009",
        one("tiktok", **{"properties.currency": "EUR"}),
        "data[0].properties.currency",
        "'USD'",
    ),
    (
        "TIKTOK-010",
        one("tiktok", **{"user.phone": "+15551234567"}),
        "data[0].user.phone",
        "SHA-256",
    ),
    (
        "TIKTOK-010",
        one("tiktok", "events1", **{"context.user.email": "a@b.co"}),
        "context.user.email",
        "plain e-mail",
    ),
    (
        "TIKTOK-011",
        one("tiktok", **{"user.user_agent": sha256}),
        "data[0].user.user_agent",
        "never hashed",
    ),
    ("TIKTOK-012", one("tiktok", **{"user.ip": "localhost"}), "data[0].user.ip", "IPv4"),
    (
        "TIKTOK-013",
        one("tiktok", "events1", **{"context.ip": "10.0.0.1"}),
        "context.ip",
        "conversion's user IP",
    ),
    ("GADS-001", one("google_ads", gclid=str.lower), "conversions[0].gclid", "case changed"),
    (
        "GADS-002",
        one("google_ads", conversionDateTime=lambda v: v[:19]),
        "conversions[0].conversionDateTime",
        "no timezone offset",
    ),
    (
        "GADS-002",
        one("google_ads", conversionDateTime=lambda v: f"{v[:10]}T{v[11:19]}Z"),
        "conversions[0].conversionDateTime",
        "'T'/'Z'",
    ),
    (
        "GADS-003",
        one("google_ads", conversionDateTime=lambda v: v.replace("11:50", "12:00")),
        "conversions[0].conversionDateTime",
        "off by +600s",
    ),
    ("GADS-004", one("google_ads", orderId=DELETE), "conversions[0].orderId", "got nothing"),
    (
        "GADS-005",
        redelivered_with_new_id("google_ads", "orderId"),
        "conversions[0].orderId",
        "reuse",
    ),
    (
        "GADS-006",
        two_conversions_one_id("google_ads", "orderId"),
        "conversions[0].orderId",
        "conv-1",
    ),
    ("GADS-007", plant_partial_failure_false, "partialFailure", "got false"),
    (
        "GADS-008",
        one("google_ads", conversionValue=DELETE),
        "conversions[0].conversionValue",
        "got nothing",
    ),
    ("GADS-009", one("google_ads", currencyCode="GBP"), "conversions[0].currencyCode", "'USD'"),
    (
        "GADS-011",
        plant_retraction_of_new_order_id,
        "conversionAdjustments[0].orderId",
        "-reversal'",
    ),
    (
        "GADS-011",
        plant_retraction_of_unsent_conversion,
        "conversionAdjustments[0].orderId",
        "CONVERSION_NOT_FOUND",
    ),
    (
        "GADS-012",
        plant_restatement({"currencyCode": "USD"}),
        "conversionAdjustments[0].restatementValue.adjustedValue",
        "got nothing",
    ),
    (
        "GADS-012",
        plant_restatement({"adjustedValue": 7.5}),
        "conversionAdjustments[0].restatementValue.currencyCode",
        "got nothing",
    ),
    (
        "DM-001",
        one("datamanager", eventTimestamp=lambda _: 1_793_533_800),
        "events[0].eventTimestamp",
        "RFC 3339",
    ),
    (
        "DM-001",
        one("datamanager", eventTimestamp=lambda v: v.rstrip("Z")),
        "events[0].eventTimestamp",
        "no timezone offset",
    ),
    (
        "DM-002",
        one("datamanager", eventTimestamp=lambda v: v.replace("11:50", "10:00")),
        "events[0].eventTimestamp",
        "off by -6600s",
    ),
    (
        "DM-003",
        one("datamanager", transactionId="{conversion_id}"),
        "events[0].transactionId",
        "non-empty",
    ),
    (
        "DM-004",
        redelivered_with_new_id("datamanager", "transactionId"),
        "events[0].transactionId",
        "reuse",
    ),
    (
        "DM-005",
        two_conversions_one_id("datamanager", "transactionId"),
        "events[0].transactionId",
        "conv-1",
    ),
    (
        "DM-006",
        one("datamanager", **{"adIdentifiers.gclid": lambda g: g + "%3D"}),
        "events[0].adIdentifiers.gclid",
        "appended",
    ),
    (
        "DM-007",
        one("datamanager", **{"userData.userIdentifiers": [{"emailAddress": "a@b.co"}]}),
        "events[0].userData.userIdentifiers[0].emailAddress",
        "plain e-mail",
    ),
    ("DM-008", plant_missing_encoding, "encoding", "HEX or BASE64"),
    ("DM-009", one("datamanager", conversionValue=12.0), "events[0].conversionValue", "12.5"),
    ("DM-010", one("datamanager", currency="EUR"), "events[0].currency", "'USD'"),
    (
        "PB-001",
        one("meta", **{FBC: fbc_part(3, lambda _: "{fbclid}")}),
        "data[0].user_data.fbc",
        "omit the field",
    ),
    ("PB-001", one("tiktok", **{"user.ttclid": "undefined"}), "data[0].user.ttclid", "'undefined'"),
    ("PB-001", one("google_ads", gclid=""), "conversions[0].gclid", "''"),
    ("PB-001", plant_undefined_ttclid_in_events1_field, "data[0].context.ad.callback",
     "'undefined'"),
    ("PB-002", plant_fabricated_fbc, "data[0].user_data.fbc", "never fabricate"),
    ("PB-002", plant_fabricated_ttclid_in_events1_field, "data[0].context.ad.callback",
     "never fabricate"),
    ("META-010", redelivered_without_id("meta", "event_id"), "data[0].event_id",
     "counts the conversion 2 times"),
    ("TIKTOK-006", redelivered_without_id("tiktok", "event_id"), "data[0].event_id",
     "each of the 2 events"),
    ("GADS-005", redelivered_without_id("google_ads", "orderId"), "conversions[0].orderId",
     "counts the conversion 2 times"),
    ("DM-004", redelivered_without_id("datamanager", "transactionId"),
     "events[0].transactionId", "counts the conversion 2 times"),
    ("META-023", plant_test_event_code("meta", form=True), "test_event_code", "'TEST4821'"),
    ("TIKTOK-017", plant_test_event_code("tiktok"), "test_event_code", "Test Events only"),
]


def case_id(case: tuple) -> str:
    return f"{case[0]}:{case[3]}"


@pytest.mark.parametrize(("rule_id", "plant", "where", "text"), CASES, ids=map(case_id, CASES))
def test_planted_mistake_yields_the_rule_finding_naming_the_field(
    scenario, rule_id: str, plant: Plant, where: str, text: str
) -> None:
    plant(scenario)
    findings = scenario.findings(rule_id)
    assert findings, f"{rule_id} found nothing"
    message = findings[0].message
    assert message.startswith(f"{where}: expected "), message
    assert text in message
    assert findings[0].evidence["field"] == where


def test_meta_reads_a_lower_case_currency_as_the_same_code(scenario) -> None:
    # Meta's SDK lowercases custom_data.currency itself; Meta's docs show "usd" and "USD".
    one("meta", **{"custom_data.currency": str.lower})(scenario)

    assert scenario.findings("META-013") == []


def test_every_rule_has_a_failing_case() -> None:
    assert {r.id for r in all_rules()} == {case[0] for case in CASES}


def test_a_redelivery_the_platform_refused_is_not_counted_against_a_missing_event_id(
    scenario,
) -> None:
    conversion = scenario.converted("tiktok")
    scenario.send("tiktok", conversion, event_id=DELETE)
    scenario.send("tiktok", conversion, ts=scenario.NOW + 30, event_id=DELETE)["accepted"] = False

    assert scenario.findings("TIKTOK-006") == []


def test_a_google_date_time_in_another_shape_is_not_called_iso_8601(scenario) -> None:
    one("google_ads", conversionDateTime=lambda v: v.replace("-", "/", 2))(scenario)

    (finding,) = scenario.findings("GADS-002")
    assert "'T'/'Z'" not in finding.message


def test_one_conversion_sent_twice_in_one_request_is_not_called_a_redelivery(scenario) -> None:
    conversion = scenario.converted("meta")
    events = [scenario.event("meta", conversion, event_id=name) for name in ("srv-1", "px-1")]
    scenario.request("meta", events)

    (finding,) = scenario.findings("META-010")
    assert "twice in one request under different event IDs" in finding.message
    assert "redelivery" not in finding.message


def test_one_conversion_sent_twice_while_one_postback_was_handled_is_told_so(scenario) -> None:
    conversion = scenario.converted("meta")
    started = iso(datetime.fromtimestamp(scenario.NOW - 0.5, UTC))
    scenario.ctx.deliveries.append({"id": 1, "conversion_id": conversion["id"],
                                    "redelivery_of": None, "attempts": [
                                        {"number": 1, "started_at": started, "latency_ms": 1000,
                                         "status_code": 200}]})
    scenario.send("meta", conversion, ts=scenario.NOW - 0.3, event_id="web-1")
    scenario.send("meta", conversion, ts=scenario.NOW - 0.1)

    (finding,) = scenario.findings("META-010")
    assert "sent twice while handling one postback under different event IDs" in finding.message
