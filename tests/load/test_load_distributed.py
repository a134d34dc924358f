"""`postback-sim load` as a user runs it: a Locust master and two workers as separate processes
on 127.0.0.1 against the reference receiver (nothing lost or doubled), and the load verdict
catching a receiver that drops conversions only under concurrency. Bounded: seconds of load,
every process waited on with a timeout."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from conformance.load.engine import locust_missing
from conformance.paths import receiver_path
from conformance.receiver_process import POSTBACK_QUERY, ReceiverProcess, receiver_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(locust_missing() is not None, reason="needs the [load] extra")]
CLI = [sys.executable, "-m", "conformance.cli", "load"]
TIMEOUT_S = 120


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sim_port() -> int:
    return free_port()


def start_receiver(name: str, sim_port: int) -> Iterator[str]:
    process = ReceiverProcess(receiver_path(name), receiver_env(f"http://127.0.0.1:{sim_port}"))
    try:
        yield process.start()
    finally:
        process.stop()


def write_profile(tmp_path: Path, receiver_url: str) -> Path:
    profile = tmp_path / "receiver.yaml"
    profile.write_text(json.dumps({
        "postback_url": f"{receiver_url}/postback?{POSTBACK_QUERY}", "click_id_sub": "sub1",
        "source_sub": "sub2", "platforms": {
            "meta": {"pixel_id": "1234567890"}, "tiktok": {"pixel_code": "CTESTPIXEL123"},
            "google_ads": {"customer_id": "1234567890", "conversion_action_id": "987654321"},
            "datamanager": {"account_id": "1234567890", "destination_id": "987654321"}},
        "settle_seconds": 0.5}), encoding="utf-8")
    return profile


def load_args(profile: Path, sim_port: int, report: Path) -> list[str]:
    return [*CLI, "--profile", str(profile), "--port", str(sim_port), "--grpc-port",
            str(free_port()), "--json", str(report), "--sample", "0.2"]


def test_a_master_and_two_workers_lose_and_double_nothing(tmp_path: Path, sim_port: int) -> None:
    receiver = start_receiver("reference", sim_port)
    profile = write_profile(tmp_path, next(receiver))
    report, master_port = tmp_path / "verdict.json", free_port()
    master = subprocess.Popen(
        [*load_args(profile, sim_port, report), "--master", "--expect-workers", "2",
         "--master-port", str(master_port), "--users", "6", "--rate", "30", "--run-time", "4s"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = [subprocess.Popen([*CLI, "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", str(master_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(2)]
    try:
        output, _ = master.communicate(timeout=TIMEOUT_S)
        for worker in workers:
            assert worker.wait(timeout=TIMEOUT_S) == 0
    finally:
        for process in (master, *workers):
            process.kill()
        next(receiver, None)
    assert master.returncode == 0, output[-3000:]
    verdict = json.loads(report.read_text(encoding="utf-8"))
    assert verdict["verdict"] == "passed"
    assert verdict["fired"] > 0
    assert verdict["ok"] == verdict["fired"]
    assert verdict["counts"]["lost"] == verdict["counts"]["doubled"] == 0
    assert verdict["receiver_ms"]["count"] == verdict["fired"]
    assert verdict["journal_latency_ms"]["p99"] is not None
    assert "2 workers connected" in output
    assert "postback-sim load verdict: PASSED" in output


def test_the_verdict_lists_conversions_a_racy_receiver_drops(tmp_path: Path,
                                                             sim_port: int) -> None:
    receiver = start_receiver("faulty/racy_dedup_cache", sim_port)
    profile = write_profile(tmp_path, next(receiver))
    report = tmp_path / "verdict.json"
    try:
        done = subprocess.run(
            [*load_args(profile, sim_port, report), "--users", "20", "--rate", "100",
             "--run-time", "4s"], capture_output=True, text=True, timeout=TIMEOUT_S)
    finally:
        next(receiver, None)
    assert done.returncode == 1, done.stdout[-3000:]
    verdict = json.loads(report.read_text(encoding="utf-8"))
    assert verdict["counts"]["lost"] > 0
    assert verdict["lost"][0]["receiver"] == "HTTP 200"  # dropped silently, answered as success
    assert verdict["lost"][0]["conversion_id"] in done.stdout
