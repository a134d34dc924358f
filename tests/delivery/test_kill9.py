"""`kill -9` of `postback-sim serve` while postbacks are in flight (issue 10): after a restart
on the same database every conversion is delivered, and the attempts the dead process held are
sent again within seconds, long before their 30 s lease would have expired."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from simulator.delivery import ENGINE_STALE_S, LEASE_MARGIN_S

ROOT = Path(__file__).resolve().parents[2]
START_S = 30.0
CONVERSIONS = 12
# serve's default delivery timeout is 10 s, so a lease lasts 2 x 10 + margin = 30 s; the dead
# process's in-flight attempts must be re-sent well before that.
LEASE_S = 2 * 10.0 + LEASE_MARGIN_S
RESUME_BOUND_S = ENGINE_STALE_S + 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict[str, Any] | None = None, key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers),
                                timeout=10) as resp:
        return json.loads(resp.read())


class Receiver:
    """Holds every postback until `release` is set (the sender's attempts stay in flight);
    records each conversion ID it is sent."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                txn = parse_qs(urlsplit(self.path).query).get("txn", [""])[0]
                with receiver.lock:
                    receiver.seen.append(txn)
                receiver.release.wait(START_S)
                try:
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender was killed while we held its request

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self) -> int:
        with self.lock:
            return len(self.seen)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    thread = threading.Thread(target=rec.server.serve_forever, daemon=True)
    thread.start()
    yield rec
    rec.release.set()
    rec.server.shutdown()
    rec.server.server_close()


@contextmanager
def serve(db: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", str(port), "--db", str(db),
         "--grpc-port", str(free_port())],  # never the default 8001, which another may hold
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, "serve exited"
            try:
                call(url + "/api/offers/1")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start listening"
                time.sleep(0.1)
        yield proc, url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=START_S)


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def test_in_flight_postbacks_resume_within_seconds_after_kill_9(tmp_path, receiver):
    db = tmp_path / "sim.db"
    with serve(db) as (proc, url):
        call(url + "/api/postbacks", {"url": receiver.url + "/pb?txn={conversion_id}"})
        click = call(url + "/api/clicks", {"sub1": "abc"})
        created = [call(url + "/api/conversions", {"click": click["unique_click_id"]},
                        key=f"conv-{n}")["conversion_id"] for n in range(CONVERSIONS)]
        # The workers hold attempts the receiver has not answered: kill -9 now.
        assert wait_until(lambda: receiver.count() >= 4, START_S)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=START_S)
    with receiver.lock:
        in_flight, before = set(receiver.seen), len(receiver.seen)
    receiver.release.set()

    with serve(db) as (_, url):
        restarted = time.monotonic()

        def all_delivered() -> bool:
            rows = call(url + "/api/deliveries?limit=500")["deliveries"]
            return len(rows) == CONVERSIONS and {r["status"] for r in rows} == {"delivered"}

        resumed = wait_until(all_delivered, RESUME_BOUND_S)
        waited = time.monotonic() - restarted
        conversions = call(url + "/api/conversions?limit=500")["total"]

    assert resumed, f"not all delivered {RESUME_BOUND_S:g} s after the restart"
    assert waited < LEASE_S, f"resumed after {waited:.1f} s"
    print(f"resumed {waited:.1f} s after the restart")
    assert conversions == CONVERSIONS
    assert set(created) <= set(receiver.seen)
    assert in_flight <= set(receiver.seen[before:]), "an in-flight attempt was never re-sent"
