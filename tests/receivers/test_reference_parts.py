"""The reference receiver's pure pieces, imported in-process: Retry-After, backoff, settings."""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType

import pytest
import requests


@pytest.mark.parametrize(
    ("header", "expected"),
    [("3", 3.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
    ids=["seconds", "empty", "garbage", "http-date"],
)
def test_retry_after_accepts_seconds_and_http_dates(
    receiver_module: ModuleType, header: str, expected: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()
    assert receiver_module.retry_after_seconds(header, now) == expected


def test_backoff_doubles_from_a_fifth_of_a_second_and_never_undercuts_retry_after(
    receiver_module: ModuleType,
) -> None:
    receiver = receiver_module.Receiver(receiver_module.Settings())
    assert [receiver.backoff(n, None) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]
    slow = requests.Response()
    slow.headers["Retry-After"] = "120"
    assert receiver.backoff(1, slow) == 120.0


def test_a_retry_after_longer_than_a_postback_can_wait_stops_retrying_instead_of_retrying_early(
    receiver_module: ModuleType, monkeypatch
) -> None:
    throttled = requests.Response()
    throttled.status_code = 429
    throttled.headers["Retry-After"] = "120"
    calls: list[str] = []
    slept: list[float] = []

    def post(url: str, **_: object) -> requests.Response:
        calls.append(url)
        return throttled

    monkeypatch.setattr(receiver_module.requests, "post", post)
    receiver = receiver_module.Receiver(receiver_module.Settings(), sleep=slept.append)

    delivery = receiver.send_with_retry("google_ads", "http://127.0.0.1:9/x", {})

    assert (len(calls), slept, delivery.status) == (1, [], 429)
    assert "Retry-After 120s" in delivery.detail


def test_settings_default_to_the_local_simulator_and_read_the_environment(
    receiver_module: ModuleType,
) -> None:
    defaults = receiver_module.Settings.from_env({})
    assert (defaults.host, defaults.port) == ("127.0.0.1", 9000)
    assert defaults.meta_base_url == "http://127.0.0.1:8000/meta"
    custom = receiver_module.Settings.from_env(
        {"RECEIVER_PORT": "0", "TIKTOK_BASE_URL": "http://sim:8000/tiktok/",
         "GOOGLE_ADS_CUSTOMER_ID": "123-456-7890"}
    )
    assert (custom.port, custom.tiktok_base_url, custom.google_ads_customer_id) == (
        0, "http://sim:8000/tiktok", "1234567890")
