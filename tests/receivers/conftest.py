"""Receivers run as real subprocesses (as users run them) against a capture server standing in for
the four platforms; the receiver answers the postback only after forwarding, so every platform
request is recorded by the time `send` returns.

Test modules reach the shared constants and helpers through the `rig` fixture (pytest runs with
--import-mode=importlib, so conftest is not importable).
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conformance.receiver_process import terminate

RECEIVERS = Path(__file__).resolve().parents[2] / "fixtures" / "receivers"
REFERENCE = RECEIVERS / "reference.py"

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
    received_at: float = field(default_factory=time.monotonic)


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

    def script(self, platform: str, *replies: tuple[Any, ...]) -> None:
        """Answer the next requests to `platform` with these (status, body[, headers]) replies,
        then normally."""
        with self._lock:
            self._scripts[platform] = [Reply(*reply) for reply in replies]

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
        command = ["node"] if script.suffix == ".js" else [sys.executable]
        process = subprocess.Popen(
            [*command, str(script)], env=child_env, stdout=subprocess.PIPE, stderr=log,
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
    terminate(process)
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


class ReceiverRig:
    """What the receiver tests share, handed out by the `rig` fixture."""

    TS = TS
    FBCLID = FBCLID
    TTCLID = TTCLID
    GCLID = GCLID
    UA = UA
    REFERENCE = REFERENCE
    only = staticmethod(only)
    running = staticmethod(running)


@pytest.fixture
def rig() -> type[ReceiverRig]:
    return ReceiverRig
