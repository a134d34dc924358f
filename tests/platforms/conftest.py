"""Click ids and request builders the platform tests share.

Test modules reach them only through fixtures (pytest runs with --import-mode=importlib, so
conftest is not importable): `issue_gclid` for any Google test, `ads` for Google Ads uploads,
`tiktok` for the TikTok Events API.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator.platforms import clickids, journal
from simulator.services import Services


def issue_google_click(services: Services, *, ago: timedelta = timedelta(days=1)) -> str:
    """A gclid the simulator issued `ago` before now, as a Google upload or ingest refers to."""
    rng = random.Random(services.store.count("ad_clicks"))
    row = clickids.issue(services.store, services.clock, rng, "google",
                         at=services.clock.now() - ago)
    return row["click_id"]


@pytest.fixture
def issue_gclid() -> Callable[..., str]:
    return issue_google_click


class GoogleAdsUploads:
    """uploadClickConversions requests and the parts of their answers tests look at (rules §4)."""

    URL = "/google-ads/v18/customers/1234567890:uploadClickConversions"
    ACTION = "customers/1234567890/conversionActions/987654321"
    AUTH = {"Authorization": "Bearer ya29.test-token", "developer-token": "dev-token-123"}
    FAILURE_TYPE = "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure"
    issue_gclid = staticmethod(issue_google_click)

    @staticmethod
    def stamp(when: datetime) -> str:
        return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")

    @classmethod
    def conversion(cls, services: Services, gclid: str, **changes: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "gclid": gclid,
            "conversionAction": cls.ACTION,
            "conversionDateTime": cls.stamp(services.clock.now() - timedelta(minutes=5)),
            "conversionValue": 12.5,
            "currencyCode": "USD",
            "orderId": "conv-1",
        }
        row.update(changes)
        return {k: v for k, v in row.items() if v is not None}

    @classmethod
    def upload(cls, client: Any, rows: list[dict[str, Any]],
               headers: dict[str, str] | None = None, **body: Any) -> Any:
        payload = {"conversions": rows, "partialFailure": True, **body}
        return client.post(cls.URL, json=payload, headers=cls.AUTH if headers is None else headers)

    @staticmethod
    def entries(services: Services) -> list[dict[str, Any]]:
        return journal.search(services.store, platform="google_ads")

    @staticmethod
    def row_errors(resp: Any) -> list[dict[str, Any]]:
        return resp.json["partialFailureError"]["details"][0]["errors"]

    @staticmethod
    def request_failure(resp: Any) -> dict[str, Any]:
        """The error envelope with the per-request requestId checked and removed."""
        err = dict(resp.json["error"])
        details = [dict(d) for d in err.pop("details")]
        assert isinstance(details[0].pop("requestId"), str)
        return {**err, "details": details}


@pytest.fixture
def ads() -> type[GoogleAdsUploads]:
    return GoogleAdsUploads


class TikTokRequests:
    """Events API 2.0 and 1.0 requests and the checks every TikTok answer gets (rules §3)."""

    EVENTS2 = "/tiktok/open_api/v1.3/event/track/"
    TRACK = "/tiktok/open_api/v1.3/pixel/track/"
    BATCH = "/tiktok/open_api/v1.3/pixel/batch/"
    TOKEN = {"Access-Token": "test-tiktok-token"}
    PIXEL = "CTESTPIXEL123"
    SHA = "a" * 64
    REQUEST_ID = re.compile(r"\d{14}[0-9A-F]{18}")

    @staticmethod
    def issue_ttclid(services: Services, **kwargs: Any) -> dict[str, Any]:
        return clickids.issue(services.store, services.clock, random.Random(1), "tiktok",
                              **kwargs)

    @staticmethod
    def now_s(services: Services) -> int:
        return int(services.clock.time()) + 1

    @classmethod
    def event2(cls, event_time: int, ttclid: str | None = "E.C.P.unknown",
               **changes: Any) -> dict:
        event: dict[str, Any] = {
            "event": "CompletePayment",
            "event_time": event_time,
            "event_id": "conv-1",
            "user": {"ttclid": ttclid, "ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
                     "email": cls.SHA, "external_id": [cls.SHA, cls.SHA]},
            "properties": {"value": 12.5, "currency": "USD"},
            "page": {"url": "https://shop.example.com/"},
        }
        if ttclid is None:
            del event["user"]["ttclid"]
        return {**event, **changes}

    @classmethod
    def body2(cls, *events: dict, **changes: Any) -> dict:
        return {"event_source": "web", "event_source_id": cls.PIXEL, "data": list(events),
                **changes}

    @classmethod
    def event1(cls, callback: str | None, timestamp: str = "2026-11-01T12:00:00Z",
               **changes: Any) -> dict:
        context: dict[str, Any] = {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0",
                                   "page": {"url": "https://shop.example.com/"},
                                   "user": {"email": cls.SHA}}
        if callback is not None:
            context["ad"] = {"callback": callback}
        return {"event": "CompletePayment", "event_id": "conv-1", "timestamp": timestamp,
                "context": context, "properties": {"value": 9.99, "currency": "EUR"}, **changes}

    @staticmethod
    def entries(services: Services) -> list[dict[str, Any]]:
        return journal.search(services.store, platform="tiktok")

    @staticmethod
    def without(body: dict, *path: Any) -> dict:
        """A deep copy of `body` with the field at `path` removed."""
        body = json.loads(json.dumps(body))
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return body

    @staticmethod
    def with_value(body: dict, value: Any, *path: Any) -> dict:
        """A deep copy of `body` with the field at `path` set to `value`."""
        body = json.loads(json.dumps(body))
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    @classmethod
    def assert_answer(cls, response: Any, code: int, message: str) -> None:
        assert response.status_code == 200
        body = response.get_json()
        assert body == {"code": code, "message": message, "request_id": body["request_id"],
                        "data": {}}
        assert cls.REQUEST_ID.fullmatch(body["request_id"])


@pytest.fixture
def tiktok() -> type[TikTokRequests]:
    return TikTokRequests
