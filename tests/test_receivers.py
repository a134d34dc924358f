"""The reference receiver forwards correctly, and each faulty receiver shows exactly its bug.

Receivers run as real subprocesses (as users run them) against a capture server standing in for
the four platforms; the receiver answers the postback only after forwarding, so every platform
request is recorded by the time `send` returns.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

RECEIVERS = Path(__file__).resolve().parents[1] / "fixtures" / "receivers"
REFERENCE = RECEIVERS / "reference.py"
FAULTY = sorted(p.stem for p in (RECEIVERS / "faulty").glob("*.py"))

FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
TTCLID = "E.C.P.CrQBmYz0k1XQ7sJ2Vw5hB3nKfLq9tRa8cUe6dIo4pGy1ZbMx"
GCLID = "Cj0KCQjwAbCDEfGhIjKlMnOpQrStUvWxYz_0123456789-AbCdEf"
TS = int(time.time()) - 3600
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
CLICK_IDS = {"facebook": FBCLID, "tiktok": TTCLID, "google": GCLID, "google-dm": GCLID}
PLATFORM_ENV = {
    "META_PIXEL_ID": "111222333",
    "META_ACCESS_TOKEN": "meta-token",
    "TIKTOK_PIXEL_CODE": "CPIXEL42",
    "TIKTOK_ACCESS_TOKEN": "tiktok-token",
    "GOOGLE_ADS_CUSTOMER_ID": "123-456-7890",
    "GOOGLE_ADS_CONVERSION_ACTION_ID": "555",
    "GOOGLE_ADS_DEVELOPER_TOKEN": "dev-token",
    "DATAMANAGER_ACCOUNT_ID": "9876543210",
    "DATAMANAGER_DESTINATION_ID": "777",
    "EVENT_SOURCE_URL": "https://shop.example.com/checkout",
}
DEFAULT_REPLIES = {
    "meta": {"events_received": 1, "messages": [], "fbtrace_id": "AbC"},
    "tiktok": {"code": 0, "message": "OK", "request_id": "r1", "data": {}},
    "google-ads": {"results": [{}]},
    "datamanager": {"requestId": "r1"},
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Captured:
    """One platform request as the receiver sent it."""

    platform: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


class CaptureServer:
    """Stands in for the four platforms: records every request, replays scripted answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[Captured] = []
        self._scripts: dict[str, list[Reply]] = {}
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = capture.record(Captured(
                    platform=url.path.split("/")[1],
                    path=url.path,
                    query={k: v[0] for k, v in parse_qs(url.query).items()},
                    headers=dict(self.headers.items()),
                    body=json.loads(raw),
                ))
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def record(self, request: Captured) -> Reply:
        with self._lock:
            self._requests.append(request)
            script = self._scripts.get(request.platform)
            if script:
                return script.pop(0)
        return Reply(200, DEFAULT_REPLIES.get(request.platform, {}))

    def script(self, platform: str, *replies: Reply) -> None:
        """Answer the next requests to `platform` with these replies, then normally."""
        with self._lock:
            self._scripts[platform] = list(replies)

    def requests(self, platform: str | None = None) -> list[Captured]:
        with self._lock:
            return [r for r in self._requests if platform in (None, r.platform)]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._scripts.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@dataclass
class RunningReceiver:
    url: str
    process: subprocess.Popen[str]
    log_path: Path
    session: requests.Session

    def send(self, **overrides: str) -> requests.Response:
        """Fire one postback; defaults are a recent Meta conversion of 12.50 EUR."""
        source = overrides.get("source", "facebook")
        params = {
            "click_id": CLICK_IDS.get(source, FBCLID), "source": source, "payout": "12.50",
            "currency": "EUR", "txn": "conv-1001", "ts": str(TS), "ip": "203.0.113.7", "ua": UA,
        }
        params.update(overrides)
        return self.session.get(f"{self.url}/postback", params=params, timeout=20)

    def log(self) -> str:
        return self.log_path.read_text()


def start_receiver(script: Path, capture_url: str, log_path: Path,
                   env: dict[str, str] | None = None) -> RunningReceiver:
    """Start a receiver on a free port and wait (bounded) for its `listening on` line."""
    child_env = {
        **os.environ, **PLATFORM_ENV, "RECEIVER_PORT": "0", "NO_PROXY": "127.0.0.1",
        "META_BASE_URL": f"{capture_url}/meta", "TIKTOK_BASE_URL": f"{capture_url}/tiktok",
        "GOOGLE_ADS_BASE_URL": f"{capture_url}/google-ads",
        "DATAMANAGER_BASE_URL": f"{capture_url}/datamanager/", **(env or {}),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(script)], env=child_env, stdout=subprocess.PIPE, stderr=log,
            text=True,
        )
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=15)
    line = process.stdout.readline() if ready else ""
    match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+)\n", line)
    if not match:
        stop_receiver(process)
        pytest.fail(f"{script.name} did not start: {line!r} {log_path.read_text()}")
    session = requests.Session()
    session.trust_env = False
    return RunningReceiver(match.group(1), process, log_path, session)


def stop_receiver(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer()
    yield server
    server.close()


@pytest.fixture
def platforms(capture: CaptureServer) -> CaptureServer:
    """The capture server, emptied for this test."""
    capture.reset()
    return capture


@contextmanager
def running(script: Path, capture: CaptureServer, log_path: Path,
            env: dict[str, str] | None = None) -> Iterator[RunningReceiver]:
    """A started receiver, stopped (and its session closed) however the block ends."""
    receiver = start_receiver(script, capture.url, log_path, env)
    try:
        yield receiver
    finally:
        receiver.session.close()
        stop_receiver(receiver.process)


@pytest.fixture(scope="module")
def reference(capture: CaptureServer,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningReceiver]:
    log_path = tmp_path_factory.mktemp("reference") / "stderr.log"
    with running(REFERENCE, capture, log_path) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def receiver_module() -> Iterator[ModuleType]:
    """reference.py imported in-process, for its pure functions."""
    name = "receiver_reference"
    spec = importlib.util.spec_from_file_location(name, REFERENCE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[name]


def only(platform: str, capture: CaptureServer) -> Captured:
    sent = capture.requests(platform)
    assert len(sent) == 1, f"expected one {platform} request, got {len(sent)}"
    assert len(capture.requests()) == 1, "forwarded to more than one platform"
    return sent[0]


# -- the reference receiver --------------------------------------------------------------------


def test_health_answers_ok(reference: RunningReceiver) -> None:
    response = reference.session.get(f"{reference.url}/health", timeout=5)
    assert (response.status_code, response.text) == (200, "ok")


def test_meta_conversion_is_forwarded_as_capi_purchase(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    assert reference.send().status_code == 200
    sent = only("meta", platforms)
    assert sent.path == "/meta/v21.0/111222333/events"
    assert sent.query == {"access_token": "meta-token"}
    assert sent.body == {"data": [{
        "event_name": "Purchase",
        "event_time": TS,
        "event_id": "conv-1001",
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "user_data": {
            "fbc": f"fb.1.{TS * 1000}.{FBCLID}",
            "client_ip_address": "203.0.113.7",
            "client_user_agent": UA,
        },
        "custom_data": {"value": 12.5, "currency": "EUR"},
    }]}


def test_tiktok_conversion_is_forwarded_as_events_2_complete_payment(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    assert reference.send(source="tiktok").status_code == 200
    sent = only("tiktok", platforms)
    assert sent.path == "/tiktok/open_api/v1.3/event/track/"
    assert sent.headers["Access-Token"] == "tiktok-token"
    assert sent.body == {
        "event_source": "web",
        "event_source_id": "CPIXEL42",
        "data": [{
            "event": "CompletePayment",
            "event_time": TS,
            "event_id": "conv-1001",
            "user": {"ttclid": TTCLID, "ip": "203.0.113.7", "user_agent": UA},
            "properties": {"value": 12.5, "currency": "EUR"},
            "page": {"url": "https://shop.example.com/checkout"},
        }],
    }


def test_google_conversion_is_uploaded_as_click_conversion(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    assert reference.send(source="google").status_code == 200
    sent = only("google-ads", platforms)
    assert sent.path == "/google-ads/v18/customers/1234567890:uploadClickConversions"
    assert sent.headers["developer-token"] == "dev-token"
    assert sent.headers["Authorization"].startswith("Bearer ")
    when = datetime.fromtimestamp(TS, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    assert sent.body == {
        "conversions": [{
            "gclid": GCLID,
            "conversionAction": "customers/1234567890/conversionActions/555",
            "conversionDateTime": when,
            "conversionValue": 12.5,
            "currencyCode": "EUR",
            "orderId": "conv-1001",
        }],
        "partialFailure": True,
    }


def test_google_dm_conversion_is_ingested_into_data_manager(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    assert reference.send(source="google-dm").status_code == 200
    sent = only("datamanager", platforms)
    assert sent.path == "/datamanager/v1/events:ingest"
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert sent.body == {
        "destinations": [{
            "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "9876543210"},
            "productDestinationId": "777",
        }],
        "events": [{
            "transactionId": "conv-1001",
            "eventTimestamp": datetime.fromtimestamp(TS, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "adIdentifiers": {"gclid": GCLID},
            "conversionValue": 12.5,
            "currency": "EUR",
            "eventSource": "WEB",
        }],
    }


@pytest.mark.parametrize(
    "click_id",
    ["", "{sub1}", "{fbclid}", "%7Bsub1%7D", "[sub1]", "undefined", "null", "None", "  "],
    ids=["empty", "sub1-macro", "fbclid-macro", "encoded-macro", "bracket-macro", "undefined",
         "null", "None", "blank"],
)
@pytest.mark.parametrize("source", ["facebook", "tiktok", "google", "google-dm"])
def test_postback_without_a_real_click_id_forwards_nothing(
    reference: RunningReceiver, platforms: CaptureServer, click_id: str, source: str
) -> None:
    response = reference.send(source=source, click_id=click_id)
    assert response.status_code == 200
    assert "ignored" in response.text
    assert platforms.requests() == []


@pytest.mark.parametrize("source", ["", "instagram", "bing"])
def test_postback_from_an_unknown_source_forwards_nothing(
    reference: RunningReceiver, platforms: CaptureServer, source: str
) -> None:
    assert reference.send(source=source).status_code == 200
    assert platforms.requests() == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"txn": ""}, "txn"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": ""}, "ts"),
        ({"payout": "ten"}, "payout"),
        ({"payout": "nan"}, "payout"),
        ({"currency": "12"}, "currency"),
    ],
    ids=["no-txn", "word-ts", "no-ts", "word-payout", "nan-payout", "numeric-currency"],
)
def test_malformed_postback_is_rejected_with_400(
    reference: RunningReceiver, platforms: CaptureServer, overrides: dict[str, str], reason: str
) -> None:
    response = reference.send(**overrides)
    assert response.status_code == 400
    assert reason in response.text
    assert platforms.requests() == []


def test_unknown_path_is_404(reference: RunningReceiver) -> None:
    assert reference.session.get(f"{reference.url}/nope", timeout=5).status_code == 404


def test_invalid_ip_is_left_out_rather_than_forwarded(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    reference.send(ip="not-an-ip")
    user_data = only("meta", platforms).body["data"][0]["user_data"]
    assert "client_ip_address" not in user_data


def test_redelivered_postback_keeps_the_same_event_id(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    reference.send()
    reference.send()
    ids = [r.body["data"][0]["event_id"] for r in platforms.requests("meta")]
    assert ids == ["conv-1001", "conv-1001"]


def test_conversion_older_than_seven_days_is_not_sent_to_meta(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    eight_days_ago = str(int(time.time()) - 8 * 86400)
    response = reference.send(ts=eight_days_ago)
    assert response.status_code == 200
    assert platforms.requests() == []
    reference.send(ts=eight_days_ago, source="tiktok")
    assert len(platforms.requests("tiktok")) == 1


@pytest.mark.parametrize(
    ("platform", "source", "failure"),
    [
        ("meta", "facebook", Reply(500, {"error": {"message": "boom"}})),
        ("meta", "facebook", Reply(429, {}, {"Retry-After": "1"})),
        ("tiktok", "tiktok", Reply(200, {"code": 40100, "message": "Too many requests"})),
        ("google-ads", "google", Reply(503, {"error": {"code": 503}})),
        ("datamanager", "google-dm", Reply(502, {})),
    ],
    ids=["meta-500", "meta-429-retry-after", "tiktok-40100", "google-503", "datamanager-502"],
)
def test_transient_failure_is_retried_with_the_same_payload(
    reference: RunningReceiver, platforms: CaptureServer, platform: str, source: str,
    failure: Reply,
) -> None:
    platforms.script(platform, failure)
    assert reference.send(source=source).status_code == 200
    first, second = platforms.requests(platform)
    assert first.body == second.body


@pytest.mark.parametrize(
    ("platform", "source", "rejection"),
    [
        ("meta", "facebook", Reply(400, {"error": {"code": 100, "error_subcode": 2804003}})),
        ("meta", "facebook", Reply(403, {"error": {"code": 190}})),
        ("tiktok", "tiktok", Reply(200, {"code": 40002, "message": "bad parameter"})),
        ("google-ads", "google", Reply(200, {"results": [{}], "partialFailureError": {"code": 3}})),
    ],
    ids=["meta-400", "meta-403", "tiktok-40002", "google-partial-failure"],
)
def test_rejection_is_final_and_still_acknowledged(
    reference: RunningReceiver, platforms: CaptureServer, platform: str, source: str,
    rejection: Reply,
) -> None:
    platforms.script(platform, rejection)
    assert reference.send(source=source).status_code == 200
    assert len(platforms.requests(platform)) == 1


def test_persistent_failure_gives_up_after_four_attempts(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    platforms.script("meta", *[Reply(503, {})] * 5)
    assert reference.send(txn="conv-gives-up").status_code == 200
    assert len(platforms.requests("meta")) == 4
    assert re.search(r"platform=meta status=503 attempts=4 txn=conv-gives-up", reference.log())


def test_each_forward_is_logged_with_platform_and_status(
    reference: RunningReceiver, platforms: CaptureServer
) -> None:
    reference.send(source="tiktok", txn="conv-logged")
    assert "forward platform=tiktok status=200 attempts=1 txn=conv-logged" in reference.log()


def test_unreachable_platform_is_retried_then_acknowledged(
    capture: CaptureServer, tmp_path: Path
) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{closed.server_address[1]}/meta"
    closed.server_close()
    with running(REFERENCE, capture, tmp_path / "stderr.log",
                 {"META_BASE_URL": dead_url}) as receiver:
        assert receiver.send(txn="conv-unreachable").status_code == 200
        assert re.search(r"platform=meta status=None attempts=4 txn=conv-unreachable gave up "
                         r"ConnectionError", receiver.log())


# -- the reference's pure pieces -----------------------------------------------------------------


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


def test_backoff_doubles_from_a_fifth_of_a_second_and_caps_retry_after_at_two_seconds(
    receiver_module: ModuleType,
) -> None:
    receiver = receiver_module.Receiver(receiver_module.Settings())
    assert [receiver.backoff(n, None) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]
    slow = requests.Response()
    slow.headers["Retry-After"] = "120"
    assert receiver.backoff(1, slow) == 2.0


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


# -- the faulty receivers ------------------------------------------------------------------------


def meta_event(sent: list[Captured]) -> dict[str, Any]:
    return sent[0].body["data"][0]


def google_conversion(sent: list[Captured]) -> dict[str, Any]:
    return sent[0].body["conversions"][0]


@dataclass(frozen=True)
class BugCase:
    """How to provoke one bug and how to see it in what reached the platform."""

    postbacks: tuple[dict[str, str], ...]
    shows_bug: Callable[[list[Captured]], bool]
    platform: str = "meta"
    script: tuple[Reply, ...] = ()


LATE = str(int(time.time()) - 8 * 86400)
HEX64 = re.compile(r"[0-9a-f]{64}")
BUGS = {
    "hashed_fbc": BugCase(
        ({},), lambda s: HEX64.fullmatch(meta_event(s)["user_data"]["fbc"]) is not None),
    "fbc_seconds": BugCase(
        ({},), lambda s: meta_event(s)["user_data"]["fbc"] == f"fb.1.{TS}.{FBCLID}"),
    "fabricated_fbc": BugCase(({"click_id": ""},), lambda s: len(s) > 0),
    "lowercased_gclid": BugCase(
        ({"source": "google"},), lambda s: google_conversion(s)["gclid"] == GCLID.lower(),
        platform="google-ads"),
    "fresh_event_id": BugCase(
        ({}, {}), lambda s: s[0].body["data"][0]["event_id"] != s[1].body["data"][0]["event_id"]),
    "event_id_from_click": BugCase(({},), lambda s: meta_event(s)["event_id"] == FBCLID),
    "google_no_offset": BugCase(
        ({"source": "google"},),
        lambda s: re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
                               google_conversion(s)["conversionDateTime"]) is not None,
        platform="google-ads"),
    "partial_failure_false": BugCase(
        ({"source": "google"},), lambda s: s[0].body["partialFailure"] is False,
        platform="google-ads"),
    "value_in_cents": BugCase(({},), lambda s: meta_event(s)["custom_data"]["value"] == 1250),
    "hardcoded_currency": BugCase(
        ({"currency": "EUR"},), lambda s: meta_event(s)["custom_data"]["currency"] == "USD"),
    "no_retry": BugCase(({},), lambda s: len(s) == 1, script=(Reply(500, {}),)),
    "event_time_ms": BugCase(({},), lambda s: meta_event(s)["event_time"] == TS * 1000),
    "forwards_late_meta": BugCase(({"ts": LATE},), lambda s: len(s) > 0),
    "fbclid_lowercased": BugCase(
        ({},), lambda s: meta_event(s)["user_data"]["fbc"].endswith(f".{FBCLID.lower()}")),
    "retry_forever_on_400": BugCase(
        ({},), lambda s: len(s) > 1, script=(Reply(400, {"error": {"code": 100}}),)),
    "event_time_now": BugCase(({},), lambda s: meta_event(s)["event_time"] > TS + 60),
}


def provoke(receiver: RunningReceiver, capture: CaptureServer, case: BugCase) -> list[Captured]:
    capture.script(case.platform, *case.script)
    for overrides in case.postbacks:
        assert receiver.send(**overrides).status_code == 200
    return capture.requests(case.platform)


def test_every_faulty_receiver_has_a_bug_case() -> None:
    assert sorted(BUGS) == FAULTY
    assert len(FAULTY) >= 10


@pytest.mark.parametrize("name", FAULTY)
def test_faulty_receiver_shows_its_bug(
    name: str, platforms: CaptureServer, tmp_path: Path
) -> None:
    script = RECEIVERS / "faulty" / f"{name}.py"
    with running(script, platforms, tmp_path / "stderr.log") as receiver:
        assert BUGS[name].shows_bug(provoke(receiver, platforms, BUGS[name]))


@pytest.mark.parametrize("name", sorted(BUGS))
def test_reference_receiver_does_not_show_the_bug(
    name: str, reference: RunningReceiver, platforms: CaptureServer
) -> None:
    assert not BUGS[name].shows_bug(provoke(reference, platforms, BUGS[name]))
