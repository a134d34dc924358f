"""`postback-sim serve` as a user runs it: gunicorn in a child process, stopped by Ctrl-C
(SIGINT to the whole process group, as a terminal sends it), state kept in --db."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from simulator.server import BackgroundServer

ROOT = Path(__file__).resolve().parents[1]
START_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any], str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), resp.headers.get("Server", "")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers.get("Server", "")


class Served:
    """A running `serve` child and, once stopped, what it printed."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc, self.url = proc, url
        self.stdout = self.stderr = ""

    def interrupt(self) -> int:
        os.killpg(self.proc.pid, signal.SIGINT)
        self.stdout, self.stderr = self.proc.communicate(timeout=START_S)
        return self.proc.returncode


@contextmanager
def serve(db: str, port: int, *options: str) -> Iterator[Served]:
    if "--grpc-port" not in options:  # never the default 8001, which another program may hold
        options = (*options, "--grpc-port", str(free_port()))
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", str(port), "--db", db,
         *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    served = Served(proc, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                call(served.url + "/api/offers/1")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start listening"
                time.sleep(0.1)
        yield served
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=START_S)


@pytest.mark.parametrize("db", [":memory:", "file"], ids=["memory", "file"])
def test_serve_runs_gunicorn_and_stops_cleanly_on_ctrl_c(tmp_path, db):
    port = free_port()
    db_path = db if db == ":memory:" else str(tmp_path / "sim.db")
    with serve(db_path, port) as served:
        status, offer, server = call(served.url + "/api/offers/1")
        assert (status, offer["id"]) == (200, 1)
        assert server.startswith("gunicorn")
        assert_reset_fault_resets_under_gunicorn(served.url)
        code = served.interrupt()
    assert code == 0
    assert f"serving on http://127.0.0.1:{port}/ (state in {db_path})" in served.stdout
    assert served.stdout.rstrip().endswith("postback-sim stopped")
    assert served.stdout.count("postback-sim stopped") == 1
    assert "Traceback" not in served.stderr + served.stdout


def test_a_port_in_use_is_one_line_and_exit_2_not_a_retry_loop(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "serve", "--port", str(port),
             "--db", ":memory:", "--grpc-port", str(free_port())],
            cwd=ROOT, capture_output=True, text=True, timeout=START_S,
        )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"postback-sim: error: cannot listen on 127.0.0.1:{port}: " \
                          "Address already in use\n"


def test_a_pending_postback_is_delivered_after_serve_restarts_on_the_same_db(tmp_path):
    """The receiver is down for the first attempt; it comes up while the simulator is stopped."""
    db, port, receiver_port = str(tmp_path / "sim.db"), free_port(), free_port()
    with serve(db, port) as served:
        pb = {"offer_id": 1, "url": f"http://127.0.0.1:{receiver_port}/pb?c={{sub1}}"}
        assert call(served.url + "/api/postbacks", pb)[0] == 201
        status, click, _ = call(served.url + "/api/clicks", {"offer_id": 1, "sub1": "resumed"})
        assert status == 201
        conv = call(served.url + "/api/conversions", {"click": click["unique_click_id"]})[1]
        delivery_url = f"{served.url}/api/deliveries/{conv['delivery_ids'][0]}"
        wait_until(lambda: call(delivery_url)[1]["attempt_count"] >= 1)
        assert call(delivery_url)[1]["status"] == "pending"
        assert served.interrupt() == 0

    received: list[str] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        received.append(f"{environ['PATH_INFO']}?{environ['QUERY_STRING']}")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with BackgroundServer(receiver, port=receiver_port), serve(db, port) as served:
        wait_until(lambda: call(delivery_url)[1]["status"] == "delivered", timeout=60)
        assert call(delivery_url)[1]["attempts"][-1]["response_body"] == "ok"
        assert served.interrupt() == 0
    assert received == ["/pb?c=resumed"]


def assert_reset_fault_resets_under_gunicorn(url: str) -> None:
    assert call(url + "/api/faults", {"platform": "tiktok", "kind": "reset"})[0] == 201
    with pytest.raises(requests.ConnectionError) as dropped:
        requests.post(url + "/tiktok/open_api/v1.3/event/track/", json={}, timeout=10)
    assert "ConnectionResetError" in repr(dropped.value)


def wait_until(condition: Any, timeout: float = START_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


# --- serve --workers N over one database ---------------------------------------------------

REQUESTS = 120


def meta_event(n: int) -> dict:
    return {"event_name": "Purchase", "event_time": int(time.time()), "event_id": f"w-{n}",
            "action_source": "website", "event_source_url": "https://shop.example/t",
            "custom_data": {"value": 9.5, "currency": "EUR"},
            "user_data": {"client_ip_address": "203.0.113.9", "client_user_agent": "ua",
                          "fbc": f"fb.1.1700000000000.not-issued-{n}"}}


def workers_of(arbiter: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(arbiter)], capture_output=True,
                         text=True, timeout=10).stdout
    return {int(pid) for pid in out.split()}


def send(url: str, n: int) -> int:
    resp = requests.post(f"{url}/meta/v19.0/123/events?access_token=t",
                         json={"data": [meta_event(n)]}, timeout=10)
    return resp.status_code


def test_two_workers_journal_every_answered_request_and_one_runs_delivery(tmp_path: Path):
    db, port = str(tmp_path / "sim.db"), free_port()
    with serve(db, port, "--workers", "2") as served:
        wait_until(lambda: len(workers_of(served.proc.pid)) == 2)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda n: send(served.url, n), range(REQUESTS)))
        assert statuses == [200] * REQUESTS
        listed = requests.get(f"{served.url}/api/journal",
                              params={"platform": "meta", "count": REQUESTS, "timeout": 30},
                              timeout=40).json()
        assert listed["timed_out"] is False
        assert sorted(e["events"][0]["event_id"] for e in listed["items"]) == sorted(
            f"w-{n}" for n in range(REQUESTS))
        assert all(e["events"][0]["attribution"]["status"] == "unknown" for e in listed["items"])
        workers = workers_of(served.proc.pid)
        assert len(workers) == 2
        with sqlite3.connect(db) as conn:
            engines = conn.execute("SELECT pid FROM delivery_engines").fetchall()
            served_by = conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        assert len(engines) == 1
        assert engines[0][0] in workers
        assert served_by == REQUESTS
        assert served.interrupt() == 0
    assert "Traceback" not in served.stderr


def test_an_answered_request_survives_kill_9_of_every_worker(tmp_path: Path):
    db, port = str(tmp_path / "sim.db"), free_port()
    with serve(db, port, "--workers", "2") as served:
        statuses = [send(served.url, n) for n in range(20)]
        assert statuses == [200] * 20
        os.killpg(served.proc.pid, signal.SIGKILL)  # the arbiter and both workers at once
        served.proc.communicate(timeout=30)
    with serve(db, port, "--workers", "1") as served:
        # The killed workers' unfinished diagnoses are taken over at once (their pids are gone);
        # the client waits longer than the journal's own bounded wait.
        listed = requests.get(f"{served.url}/api/journal",
                              params={"platform": "meta", "count": 20, "timeout": 30},
                              timeout=40).json()
        assert listed["timed_out"] is False
        assert sorted(e["events"][0]["event_id"] for e in listed["items"]) == sorted(
            f"w-{n}" for n in range(20))
        assert served.interrupt() == 0


def test_serve_help_names_the_workers_option():
    out = subprocess.run([sys.executable, "-m", "conformance.cli", "serve", "--help"],
                         cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True,
                         timeout=30).stdout
    assert "--workers" in out
