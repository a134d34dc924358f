"""The reference receiver's pure pieces, imported in-process: Retry-After, backoff, settings."""

from __future__ import annotations

import json
import socket
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


def _google(receiver_module: ModuleType, monkeypatch, results: list[dict]) -> list[tuple]:
    """Route the receiver's POSTs to a fake Google that answers each with the next results."""
    sent: list[tuple] = []

    def post(url: str, **kwargs: object) -> requests.Response:
        sent.append((url.rsplit(":", 1)[-1], kwargs["json"]))
        answer = requests.Response()
        answer.status_code = 200
        answer._content = json.dumps({"results": [results.pop(0)]}).encode()
        return answer

    monkeypatch.setattr(receiver_module.requests, "post", post)
    return sent


def _postback(receiver_module: ModuleType, status: str):
    return receiver_module.parse_postback({
        "click_id": ["Cj0KCQ-gclid-1"], "source": ["google"], "payout": ["5"],
        "currency": ["USD"], "txn": ["conv-9"], "ts": ["1700000000"], "status": [status]})


@pytest.mark.parametrize("reversal", ["REVERSED", "rejected"], ids=["impact", "keitaro"])
def test_a_reversal_of_an_uploaded_google_conversion_is_one_retraction_by_order_id(
    receiver_module: ModuleType, monkeypatch, reversal: str
) -> None:
    sent = _google(receiver_module, monkeypatch, [{"orderId": "conv-9"}, {"orderId": "conv-9"}])
    receiver = receiver_module.Receiver(receiver_module.Settings(), clock=lambda: 1700003600.0,
                                        log=lambda _: None)
    receiver.handle(_postback(receiver_module, "APPROVED"))
    receiver.handle(_postback(receiver_module, reversal))
    assert [kind for kind, _ in sent] == ["uploadClickConversions", "uploadConversionAdjustments"]
    (adjustment,) = sent[1][1]["conversionAdjustments"]
    assert adjustment["adjustmentType"] == "RETRACTION"
    assert adjustment["orderId"] == sent[0][1]["conversions"][0]["orderId"] == "conv-9"
    assert adjustment["adjustmentDateTime"] == "2023-11-14 23:13:20+00:00"
    assert sent[1][1]["partialFailure"] is True


def test_a_reversal_google_never_accepted_is_not_retracted(
    receiver_module: ModuleType, monkeypatch
) -> None:
    sent = _google(receiver_module, monkeypatch, [{}])  # the upload's row failed
    receiver = receiver_module.Receiver(receiver_module.Settings(), log=lambda _: None)
    receiver.handle(_postback(receiver_module, "APPROVED"))
    receiver.handle(_postback(receiver_module, "REVERSED"))
    assert [kind for kind, _ in sent] == ["uploadClickConversions"]


def test_the_reference_receiver_takes_many_connections_opened_at_once(
    receiver_module: ModuleType,
) -> None:
    """A network opens a connection per postback; none may be refused or left waiting while the
    receiver is busy accepting (the server below never accepts, as a busy one for a moment)."""
    settings = receiver_module.Settings.from_env({"RECEIVER_PORT": "0"})
    server = receiver_module.ReceiverServer(receiver_module.Receiver(settings), "127.0.0.1", 0)
    clients = [socket.socket() for _ in range(64)]
    try:
        for client in clients:
            client.settimeout(10.0)  # a SYN dropped by a full backlog would hang here
            client.connect(server.server_address)
    finally:
        for client in clients:
            client.close()
        server.server_close()
