"""What every mock platform does around its own validation: read the request, play any armed
fault, journal the request with the answer, and send that answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Request, Response, jsonify
from werkzeug.exceptions import HTTPException

from simulator.platforms import content_coding, faults, journal
from simulator.services import Services

# Builds the platform's own error body for an injected status: (status, retry_after) -> body.
FaultBody = Callable[[int, float | None], Any]


@dataclass(frozen=True)
class Intake:
    """One request to a mock, captured before parsing so the journal keeps it verbatim."""

    platform: str
    api: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    form: dict[str, str]
    environ: dict[str, Any]
    # What happened to the request before handling (e.g. {"fault": "delay 2s"}), for the journal.
    notes: dict[str, Any] = field(default_factory=dict)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A captured header by case-insensitive name (Intake keeps headers as a plain dict)."""
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def read(request: Request, platform: str, api: str, *, decode: bool = True) -> Intake:
    """Capture the request. With `decode`, a `Content-Encoding` the platform takes is undone and
    any other raises the HTTPException the platform's error renderer answers (content_coding);
    without, the body is kept as sent, or empty when it is over the size limit."""
    form: dict[str, str] = {}
    if not decode:
        try:
            body = request.get_data(cache=True, as_text=True)
        except HTTPException:
            body = ""
        return _intake(request, platform, api, body, form)
    coding = request.headers.get("Content-Encoding")
    if content_coding.codings(coding):
        raw = content_coding.decode(request.get_data(cache=True), coding,
                                    content_coding.ACCEPTED.get(platform, ()),
                                    request.max_content_length)
        return _intake(request, platform, api, raw.decode("utf-8", "replace"), form)
    body = request.get_data(cache=True, as_text=True)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = request.form.to_dict()
        if request.mimetype == "multipart/form-data":
            # multipart bodies are journaled as their fields; the raw bytes carry boundaries only
            body = body or "&".join(f"{k}={v}" for k, v in form.items())
    return _intake(request, platform, api, body, form)


def _intake(request: Request, platform: str, api: str, body: str, form: dict[str, str]) -> Intake:
    return Intake(
        platform=platform,
        api=api,
        method=request.method,
        path=request.path,
        query=request.args.to_dict(),
        headers=dict(request.headers.items()),
        body=body,
        form=form,
        environ=request.environ,
    )


def _journal(svc: Services, intake: Intake, status: int, response: Any, **outcome: Any) -> None:
    """Record the captured request with the answer sent (or the fault played instead)."""
    journal.record(
        svc.store, svc.clock, platform=intake.platform, api=intake.api, method=intake.method,
        path=intake.path, query=intake.query, headers=intake.headers, body=intake.body,
        status=status, response=response, **outcome,
    )


def respond(
    svc: Services,
    intake: Intake,
    status: int,
    body: Any,
    *,
    events: list[dict[str, Any]] | None = None,
    findings: list[dict[str, Any]] | None = None,
    accepted: bool = False,
    fault: str | None = None,
    headers: dict[str, str] | None = None,
    recipe: str | None = None,
    keys: list[journal.EventKey] | None = None,
) -> Response:
    """Journal the request with this answer, then return the answer.

    With `recipe`, the analyser diagnoses the entry after the answer (`platforms.analyser`).
    """
    if fault is None:
        fault = intake.notes.get("fault")
    _journal(svc, intake, status, body, events=events, findings=findings, accepted=accepted,
             fault=fault, recipe=recipe, keys=keys)
    if recipe is not None:
        svc.analyser.wake()
    resp = jsonify(body)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


# A `throttle` fault answers as each platform rate-limits: TikTok in an HTTP 200 whose body has
# code 40100 (platform-rules.md section 3), the others with HTTP 429 and their own body.
THROTTLE_HTTP = {"tiktok": 200}


def play_fault(svc: Services, intake: Intake, fault_body: FaultBody) -> Response | None:
    """Play the next armed fault for this platform, if any.

    Returns the response to send instead of the real handling, or None to carry on (no fault,
    or a delay fault whose wait is over).
    """
    fault = faults.take(svc.store, intake.platform)
    if fault is None:
        return None
    label = faults.describe(fault)
    if fault["kind"] == "delay":
        faults.enact_delay(fault)
        intake.notes["fault"] = label
        return None
    if fault["kind"] == "reset":
        faults.reset_connection(intake.environ)
        _journal(svc, intake, 0, {"text": "connection reset"}, fault=label)
        return Response(b"", status=500)
    status = int(fault["status"] or 500)
    retry_after = fault["retry_after"]
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after else None
    sent = THROTTLE_HTTP.get(intake.platform, 429) if fault["kind"] == "throttle" else status
    return respond(
        svc, intake, sent, fault_body(status, retry_after), fault=label, headers=headers
    )
