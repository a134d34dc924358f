"""In-process platform mocks for Python receivers: requests to the real platform hosts are
routed by `responses` into a simulator app, so a receiver's tests need no base-URL change."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import responses
from flask import Flask

# Real host -> the simulator's prefix for that mock (contract: design.md base URLs).
REAL_HOSTS = {
    "graph.facebook.com": "/meta",
    "business-api.tiktok.com": "/tiktok",
    "googleads.googleapis.com": "/google-ads",
    "datamanager.googleapis.com": "/datamanager",
}
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}


def _forward(app: Flask, prefix: str) -> Callable[[Any], tuple[int, dict[str, str], bytes]]:
    client = app.test_client()

    def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        resp = client.open(
            prefix + parts.path,
            method=request.method,
            query_string=parts.query,
            data=body or b"",
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        )
        headers = {k: v for k, v in resp.headers.items() if k.lower() not in _HOP_BY_HOP}
        return resp.status_code, headers, resp.get_data()

    return callback


def route_platforms(rsps: responses.RequestsMock, app: Flask) -> None:
    """Send every `requests` call to a real platform host into `app`'s mocks."""
    for host, prefix in REAL_HOSTS.items():
        pattern = re.compile(rf"https?://{re.escape(host)}/.*")
        for method in _METHODS:
            rsps.add_callback(method, pattern, callback=_forward(app, prefix))
    # Everything else (the receiver's own calls, a local database API...) goes out untouched.
    hosts = "|".join(re.escape(h) for h in REAL_HOSTS)
    rsps.add_passthru(re.compile(rf"https?://(?!(?:{hosts})[:/]).*"))
