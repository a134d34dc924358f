"""HTTP errors on a mock's paths (404, 405, 413, a refused Content-Encoding, any other error
Flask raises) answered in that platform's own error shape, and journaled like any request.

The HTTP status stays the one the front end chose (a 405 keeps its `Allow`), except where the
platform's API itself judges the body: TikTok answers an unreadable body in an HTTP 200 with
code 40002, Meta with HTTP 400 and code 100 (platform-rules.md sections 2 and 3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from simulator.errors import render_errors_under
from simulator.platforms import google_errors, intake, tiktok
from simulator.platforms.meta_parse import MetaError, fault_error, fbtrace_id
from simulator.services import services

log = logging.getLogger(__name__)

# (HTTP status sent, body) for (status raised, message).
Wording = Callable[[int, str], tuple[int, Any]]
# Errors about the body the platform's API reads, rather than the route or transport.
BODY_ERRORS = (400, 415)


def meta_error(status: int, message: str) -> tuple[int, Any]:
    """Graph API's error object [official: graph-api/guides/error-handling]."""
    path = request.path.removeprefix("/meta")
    if status == 404:
        # Graph's answer for a path it cannot route [3p], as meta._check_path words it.
        err = MetaError(404, 2500, f"Unknown path components: {path}")
    elif status == 405:
        err = MetaError(405, 100, f"Unsupported {request.method.lower()} request.", subcode=33)
    elif status in BODY_ERRORS:
        err = MetaError(400, 100, f"(#100) {message}")
    elif status == 413:
        err = MetaError(413, 100, f"(#100) {message}")
    else:
        err = fault_error(status)
    return err.status, err.body(fbtrace_id())


def tiktok_error(status: int, message: str) -> tuple[int, Any]:
    """TikTok's envelope: HTTP 200 with 40002 for a body it cannot read, else the front end's
    status with the code its fault answers carry (40100, 50000, 40002)."""
    rid = tiktok.request_id(services().clock.now())
    if status in BODY_ERRORS:
        return 200, tiktok.answer(tiktok.BAD_PARAMETER, f"body: {message}", rid)
    body = tiktok.fault_body(rid, status, None)
    if body["code"] == tiktok.BAD_PARAMETER:
        body["message"] = message
    return status, body


# Canonical codes for what google_errors does not map: grpc-gateway answers a route whose method
# does not match with UNIMPLEMENTED [3p: grpc-gateway runtime routing errors]; gRPC refuses a
# message over the size limit with RESOURCE_EXHAUSTED [official: grpc.io/docs/guides/error].
GOOGLE_STATUS = {405: "UNIMPLEMENTED", 413: "RESOURCE_EXHAUSTED", 415: "INVALID_ARGUMENT"}


def google_error(status: int, message: str) -> tuple[int, Any]:
    """The Google error model [official: cloud.google.com/apis/design/errors]."""
    if status == 404:
        message = f"The requested URL {request.path} was not found on this server."
    body = google_errors.rpc_error(status, message)
    body["error"]["status"] = GOOGLE_STATUS.get(status, body["error"]["status"])
    return status, body


def api_name(platform: str) -> str:
    if platform == "tiktok":
        return "events1" if "/pixel/" in request.path else "events2"
    return {"meta": "capi", "google_ads": "upload", "datamanager": "ingest"}[platform]


MOUNTS: dict[str, tuple[str, Wording]] = {
    "/meta": ("meta", meta_error),
    "/tiktok": ("tiktok", tiktok_error),
    "/google-ads": ("google_ads", google_error),
    "/datamanager": ("datamanager", google_error),
}


def render(platform: str, wording: Wording, err: HTTPException, message: str) -> Response:
    status = err.code or 500
    sent, body = wording(status, message)
    svc = services()
    captured = intake.read(request, platform, api_name(platform), decode=False)
    finding = {"code": f"http_{status}", "field": None, "message": message}
    try:
        return intake.respond(svc, captured, sent, body, findings=[finding])
    except Exception:
        # The answer matters more than its journal entry; the log keeps why it is missing.
        log.exception("could not journal the %s answer to %s %s", status, request.method,
                      request.path)
        response = jsonify(body)
        response.status_code = sent
        return response


def install(app: Flask) -> None:
    """Register the renderer of each mock's path prefix with the app's error handler."""
    for prefix, (platform, wording) in MOUNTS.items():
        render_errors_under(app, prefix, partial(render, platform, wording))
