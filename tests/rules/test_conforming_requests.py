"""Conforming requests, however they may legitimately vary, yield no finding from any rule."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

Plant = Callable[[Any], None]


def conforming_redelivery(s) -> None:
    conversion = s.converted("meta")
    s.send("meta", conversion)
    s.send("meta", conversion, ts=s.NOW + 30)


def conforming_two_conversions_one_click(s) -> None:
    click = s.click(s.ad_click("meta"))
    for ts in (s.NOW - 900, s.NOW - 300):
        s.send("meta", s.conversion(click, ts=ts))


def conforming_without_click_id(s) -> None:
    s.send("meta", s.conversion(s.click(None, sub1="")))
    s.send("google_ads", s.conversion(s.click(None, sub1="{sub1}")))


def conforming_base64_user_data(s) -> None:
    digest = base64.b64encode(bytes.fromhex(s.EMAIL_SHA)).decode()
    identifiers = {"userData.userIdentifiers": [{"emailAddress": digest}]}
    conversion = s.converted("datamanager")
    event = s.event("datamanager", conversion, **identifiers)
    s.request("datamanager", [event], encoding="BASE64")


def conforming_retraction_and_restatement(s) -> None:
    conversion = s.converted("google_ads")
    s.send("google_ads", conversion)
    s.adjust(conversion, "RESTATEMENT", ts=s.NOW + 30,
             restatementValue={"adjustedValue": 7.5, "currencyCode": "USD"})
    s.adjust(conversion)


def conforming_retraction_by_gclid_date_time_pair(s) -> None:
    conversion = s.converted("google_ads")
    original = s.send("google_ads", conversion)["events"][0]["raw"]
    pair = {"gclid": original["gclid"], "conversionDateTime": original["conversionDateTime"]}
    s.adjust(conversion, orderId=s.DELETE, gclidDateTimePair=pair)


def conforming_meta_form_body(s) -> None:
    entry = s.send_converted("meta")
    entry["body"] = urlencode({"data": json.dumps(json.loads(entry["body"])["data"]),
                               "access_token": "t"})


CONFORMING = {
    "meta-form-encoded": conforming_meta_form_body,
    "meta": lambda s: s.send_converted("meta"),
    "meta-redelivery": conforming_redelivery,
    "meta-two-conversions-one-click": conforming_two_conversions_one_click,
    "meta-fbc-with-appendix": lambda s: s.send_converted(
        "meta", **{"user_data.fbc": lambda fbc: fbc + ".AbCdEfGh"}),
    "no-click-id-sent-when-none-issued": conforming_without_click_id,
    "tiktok-events2": lambda s: s.send_converted("tiktok"),
    "tiktok-events1": lambda s: s.send_converted("tiktok", "events1"),
    "google-ads": lambda s: s.send_converted("google_ads"),
    "google-ads-snake-case-and-offset": lambda s: s.send_converted(
        "google_ads", conversionDateTime=s.DELETE, conversion_date_time="2026-11-01 06:50:00-05:00"
    ),
    "google-ads-fractional-seconds": lambda s: s.send_converted(
        "google_ads", conversionDateTime=lambda v: v.replace("+", ".250+")),
    "google-ads-retraction-and-restatement": conforming_retraction_and_restatement,
    "google-ads-retraction-by-gclid-date-time-pair": conforming_retraction_by_gclid_date_time_pair,
    "datamanager": lambda s: s.send_converted("datamanager"),
    "datamanager-base64": conforming_base64_user_data,
}


@pytest.mark.parametrize("plant", CONFORMING.values(), ids=CONFORMING.keys())
def test_conforming_requests_have_no_findings(scenario, plant: Plant) -> None:
    plant(scenario)
    assert [f.message for f in scenario.findings()] == []
