"""The reference receiver retries transient platform failures, gives up on rejections, logs."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("platform", "source", "failure"),
    [
        ("meta", "facebook", (500, {"error": {"message": "boom"}})),
        ("meta", "facebook", (429, {}, {"Retry-After": "1"})),
        ("tiktok", "tiktok", (200, {"code": 40100, "message": "Too many requests"})),
        ("google-ads", "google", (503, {"error": {"code": 503}})),
        ("datamanager", "google-dm", (502, {})),
    ],
    ids=["meta-500", "meta-429-retry-after", "tiktok-40100", "google-503", "datamanager-502"],
)
def test_transient_failure_is_retried_with_the_same_payload(
    reference, platforms, platform: str, source: str,
    failure: tuple,
) -> None:
    platforms.script(platform, failure)
    assert reference.send(source=source).status_code == 200
    first, second = platforms.requests(platform)
    assert first.body == second.body


@pytest.mark.parametrize(
    ("platform", "source", "rejection"),
    [
        ("meta", "facebook", (400, {"error": {"code": 100, "error_subcode": 2804003}})),
        ("meta", "facebook", (403, {"error": {"code": 190}})),
        ("tiktok", "tiktok", (200, {"code": 40002, "message": "bad parameter"})),
        ("google-ads", "google", (200, {"results": [{}], "partialFailureError": {"code": 3}})),
    ],
    ids=["meta-400", "meta-403", "tiktok-40002", "google-partial-failure"],
)
def test_rejection_is_final_and_still_acknowledged(
    reference, platforms, platform: str, source: str,
    rejection: tuple,
) -> None:
    platforms.script(platform, rejection)
    assert reference.send(source=source).status_code == 200
    assert len(platforms.requests(platform)) == 1


def test_persistent_failure_gives_up_after_four_attempts(reference, platforms) -> None:
    platforms.script("meta", *[(503, {})] * 5)
    assert reference.send(txn="conv-gives-up").status_code == 200
    assert len(platforms.requests("meta")) == 4
    assert re.search(r"platform=meta status=503 attempts=4 txn=conv-gives-up", reference.log())


def test_each_forward_is_logged_with_platform_and_status(reference, platforms) -> None:
    reference.send(source="tiktok", txn="conv-logged")
    assert "forward platform=tiktok status=200 attempts=1 txn=conv-logged" in reference.log()


def test_unreachable_platform_is_retried_then_acknowledged(rig, capture, tmp_path: Path) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    dead_url = f"http://127.0.0.1:{closed.server_address[1]}/meta"
    closed.server_close()
    with rig.running(rig.REFERENCE, capture, tmp_path / "stderr.log",
                     {"META_BASE_URL": dead_url}) as receiver:
        assert receiver.send(txn="conv-unreachable").status_code == 200
        assert re.search(r"platform=meta status=None attempts=4 txn=conv-unreachable gave up "
                         r"ConnectionError", receiver.log())
