"""A small builder for ScenarioContexts: one conforming request per platform, then overrides.

Rule tests start from the request a correct receiver would send and change one field, so each
failing case says exactly which mistake it plants. Test modules reach the builder only through
the `scenario` fixture (pytest runs with --import-mode=importlib, so conftest is not importable);
an override is a value, `DELETE` (the fixture's `.DELETE`), or a function of the conforming value.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from conformance.context import ScenarioContext
from conformance.findings import Finding
from conformance.rules import run_rules
from conformance.rules.shapes import DATAMANAGER, GOOGLE_ADS, META, TIKTOK, Shape
from conformance.rules.values import epoch_from_iso

NOW = 1_793_534_400.0  # 2026-11-01 12:00:00 UTC: request time
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
TTCLID = "E.C.P.CsoBqZVwQ2f1Vb3R8sT9x0kLmNoPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTuVwXyZ"
GCLID = "Cj0KCQiA4L67BhDUARIsADWrl7Ex1mN_aBcDeFgHiJkLmNoPqRsTuVw"
EMAIL_SHA = "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
DELETE = "__delete__"  # an override value that removes the field

KINDS = {"meta": ("meta", "fbclid", FBCLID), "tiktok": ("tiktok", "ttclid", TTCLID)}
KINDS["google_ads"] = KINDS["datamanager"] = ("google", "gclid", GCLID)
SHAPES: dict[str, Shape] = {
    "meta": META,
    "tiktok": TIKTOK,
    "google_ads": GOOGLE_ADS,
    "datamanager": DATAMANAGER,
}
APIS = {"meta": "capi", "tiktok": "events2", "google_ads": "upload", "datamanager": "ingest"}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def google_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Set, transform (callable) or with DELETE remove dotted paths, creating parents."""
    for path, value in overrides.items():
        *parents, leaf = path.split(".")
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        if value == DELETE:
            node.pop(leaf, None)
        elif callable(value):
            node[leaf] = value(node.get(leaf))
        else:
            node[leaf] = value
    return raw


class Scenario:
    """Rows and journal entries for one hand-built scenario, with a conforming default."""

    NOW = NOW
    FBCLID = FBCLID
    TTCLID = TTCLID
    GCLID = GCLID
    EMAIL_SHA = EMAIL_SHA
    DELETE = DELETE
    sha256 = staticmethod(sha256)
    rfc3339 = staticmethod(rfc3339)

    def __init__(self) -> None:
        self.ctx = ScenarioContext(
            "test-scenario",
            profile={"click_id_sub": "sub1"},
            started_at=NOW - 7200,
            finished_at=NOW + 5,
        )

    # --- network rows -------------------------------------------------------------------------

    def ad_click(self, platform: str = "meta", click_id: str | None = None, ts: float = NOW - 7200):
        ad_platform, kind, default = KINDS[platform]
        row = {
            "id": len(self.ctx.ad_clicks) + 1,
            "platform": ad_platform,
            "kind": kind,
            "click_id": click_id or default,
            "variant": "normal",
            "created_at": rfc3339(ts),
            "ts": ts,
        }
        self.ctx.ad_clicks.append(row)
        return row

    def click(self, ad_click=None, sub1: str | None = None, ts: float = NOW - 7000):
        row = {
            "id": len(self.ctx.clicks) + 1,
            "unique_click_id": f"uc-{len(self.ctx.clicks) + 1}",
            "sub1": sub1 if sub1 is not None else (ad_click or {}).get("click_id", ""),
            "sub2": "",
            "sub3": "",
            "sub4": "",
            "sub5": "",
            "ip": "203.0.113.7",
            "user_agent": UA,
            "country": "US",
            "ts": ts,
            "ad_click": ad_click,
        }
        self.ctx.clicks.append(row)
        return row

    def conversion(self, click, ts: float = NOW - 600, payout: float = 12.5, currency="USD"):
        number = len(self.ctx.conversions) + 1
        row = {
            "id": number,
            "conversion_id": f"conv-{number}",
            "kind": "conversion",
            "event_name": "Purchase",
            "payout": payout,
            "currency": currency,
            "status": "approved",
            "ip": "203.0.113.7",
            "user_agent": UA,
            "ts": ts,
            "click": click,
        }
        self.ctx.conversions.append(row)
        return row

    def converted(self, platform: str, **conversion: Any):
        """An ad click on the platform, a network click carrying it, and a conversion on it."""
        ad = self.ad_click(platform)
        return self.conversion(self.click(ad), **conversion)

    # --- platform requests --------------------------------------------------------------------

    def event(self, platform: str, conversion, api: str | None = None, **overrides: Any):
        """The event a correct receiver sends for this conversion, with overrides applied."""
        click = conversion["click"]
        ad = click.get("ad_click")
        click_id = ad["click_id"] if ad else None
        ts = conversion["ts"]
        if platform == "meta":
            user = {"client_ip_address": conversion["ip"], "client_user_agent": UA}
            user["em"] = EMAIL_SHA
            if click_id:
                user["fbc"] = f"fb.1.{int(click['ts'] * 1000)}.{click_id}"
            raw = {
                "event_name": "Purchase",
                "event_time": int(ts),
                "event_id": conversion["conversion_id"],
                "action_source": "website",
                "event_source_url": "https://shop.example/thanks",
                "user_data": user,
                "custom_data": {"value": conversion["payout"], "currency": conversion["currency"]},
            }
        elif platform == "tiktok" and api == "events1":
            context = {"ip": conversion["ip"], "user_agent": UA, "user": {"email": EMAIL_SHA}}
            if click_id:
                context["ad"] = {"callback": click_id}
            raw = {
                "pixel_code": "CTESTPIXEL123",
                "event": "CompletePayment",
                "event_id": conversion["conversion_id"],
                "timestamp": rfc3339(ts),
                "context": context,
                "properties": {"value": conversion["payout"], "currency": conversion["currency"]},
            }
        elif platform == "tiktok":
            user = {"ip": conversion["ip"], "user_agent": UA, "email": EMAIL_SHA}
            if click_id:
                user["ttclid"] = click_id
            raw = {
                "event": "CompletePayment",
                "event_time": int(ts),
                "event_id": conversion["conversion_id"],
                "user": user,
                "properties": {"value": conversion["payout"], "currency": conversion["currency"]},
            }
        elif platform == "google_ads":
            raw = {
                "conversionAction": "customers/1234567890/conversionActions/987654321",
                "conversionDateTime": google_time(ts),
                "conversionValue": conversion["payout"],
                "currencyCode": conversion["currency"],
                "orderId": conversion["conversion_id"],
            }
            if click_id:
                raw["gclid"] = click_id
        else:
            raw = {
                "transactionId": conversion["conversion_id"],
                "eventTimestamp": rfc3339(ts),
                "conversionValue": conversion["payout"],
                "currency": conversion["currency"],
                "eventSource": "WEB",
                "userData": {"userIdentifiers": [{"emailAddress": EMAIL_SHA}]},
            }
            if click_id:
                raw["adIdentifiers"] = {"gclid": click_id}
        return apply(raw, overrides)

    def request(
        self,
        platform: str,
        raws: list[dict],
        api: str | None = None,
        ts: float = NOW,
        **body: Any,
    ) -> dict:
        """Journal one request carrying these events, normalised as the mocks do."""
        shape = SHAPES[platform]
        api = api or APIS[platform]
        container = {"datamanager": "events", "google_ads": "conversions"}.get(platform, "data")
        events = []
        for index, raw in enumerate(raws):
            prefix = "" if api == "events1" else f"{container}[{index}]"
            click = raw_get(raw, shape.role("click_id", api))
            if platform == "meta" and isinstance(click, str):
                click = click.split(".")[3] if click.count(".") >= 3 else click
            time_value = raw_get(raw, shape.role("time", api))
            events.append(
                {
                    "index": index,
                    "event_name": raw.get("event_name") or raw.get("event"),
                    "event_time": time_value
                    if isinstance(time_value, int)
                    else epoch_from_iso(time_value),
                    "event_id": raw_get(raw, shape.role("event_id", api)),
                    "value": raw_get(raw, shape.role("value", api)),
                    "currency": raw_get(raw, shape.role("currency", api)),
                    "click_id": {"kind": KINDS[platform][1], "value": click}
                    if click is not None
                    else None,
                    "raw": raw,
                    "field_prefix": prefix,
                }
            )
        if platform == "google_ads":
            body = {"partialFailure": True, **body}
        if platform == "datamanager":
            body = {"encoding": "HEX", **body}
        body = {container if api != "events1" else "batch": raws, **body}
        entry = {
            "id": len(self.ctx.journal) + 1,
            "platform": platform,
            "api": api,
            "method": "POST",
            "path": "/",
            "body": json.dumps(body),
            "status": 200,
            "accepted": True,
            "events": events,
            "ts": ts,
        }
        self.ctx.journal.append(entry)
        return entry

    def send(self, platform: str, conversion, api: str | None = None, ts: float = NOW, **kw):
        """Journal one request with the (overridden) conforming event for a conversion."""
        return self.request(platform, [self.event(platform, conversion, api, **kw)], api, ts)

    def send_converted(self, platform: str, api: str | None = None, **overrides: Any):
        """One conversion on an ad click and one request whose event has these overrides."""
        return self.send(platform, self.converted(platform), api, **overrides)

    def adjust(self, conversion, kind: str = "RETRACTION", ts: float = NOW + 60,
               **overrides: Any) -> dict:
        """Journal one uploadConversionAdjustments request (api `adjust`) for this conversion,
        naming it by orderId, as the mock normalises it."""
        raw = apply({
            "conversionAction": "customers/1234567890/conversionActions/987654321",
            "adjustmentType": kind,
            "adjustmentDateTime": google_time(ts),
            "orderId": conversion["conversion_id"],
        }, overrides)
        restated = raw.get("restatementValue") or {}
        event = {
            "index": 0,
            "event_name": raw.get("conversionAction"),
            "event_time": epoch_from_iso(raw.get("adjustmentDateTime")),
            "event_id": raw.get("orderId"),
            "value": restated.get("adjustedValue"),
            "currency": restated.get("currencyCode"),
            "click_id": None,
            "raw": raw,
            "field_prefix": "conversionAdjustments[0]",
        }
        entry = {
            "id": len(self.ctx.journal) + 1,
            "platform": "google_ads",
            "api": "adjust",
            "method": "POST",
            "path": "/",
            "body": json.dumps({"conversionAdjustments": [raw], "partialFailure": True}),
            "status": 200,
            "accepted": True,
            "events": [event],
            "ts": ts,
        }
        self.ctx.journal.append(entry)
        return entry

    def findings(self, rule_id: str | None = None) -> list[Finding]:
        found = run_rules(self.ctx)
        return [f for f in found if rule_id is None or f.rule == rule_id]


def raw_get(raw: dict, path: str | None) -> Any:
    node: Any = raw
    for key in (path or "").split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


@pytest.fixture
def scenario() -> Scenario:
    return Scenario()
