"""The TikTok Events API mock: Events 2.0 `/event/track/`, legacy 1.0 `/pixel/track/` and
`/pixel/batch/` (which the official SDK tiktok-business-api-sdk-official still calls).

platform-rules.md section 3: every answer is HTTP 200 with a `code`; 0 is success, and one bad
event refuses the whole request. Doc: https://business-api.tiktok.com/portal/docs?id=1771100865818625
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from flask import Blueprint, Response, abort, request

from simulator.config import SimConfig
from simulator.platforms import attribution, intake, tiktok_parse
from simulator.services import services
from simulator.store import Row, Store

bp = Blueprint("tiktok", __name__, url_prefix="/tiktok")

# Any API version is accepted (design.md, mock base URLs); TikTok's are v1.2, v1.3, ...
API_VERSION = re.compile(r"v\d+\.\d+")
# Return codes [3p, platform-rules.md section 3], named as in the official SDK's
# business_api_client/tiktok_business/tiktok_code.py (NumericErrorCodes), which also lists
# 40104 for an empty token (ERROR_CODE_EMPTY_ACCESS_TOKEN) and 50000 for a system error.
OK = 0
NO_PERMISSION = 40001
BAD_PARAMETER = 40002
RATE_LIMITED = 40100
EMPTY_TOKEN = 40104
BAD_TOKEN = 40105
SYSTEM_ERROR = 50000


def request_id(now: datetime) -> str:
    """Shaped like TikTok's: UTC yyyymmddHHMMSS, then 18 upper-case hex characters [3p]."""
    return f"{now:%Y%m%d%H%M%S}{secrets.token_hex(9).upper()}"


def answer(code: int, message: str, rid: str) -> dict[str, Any]:
    """TikTok's envelope, the same for success and every error."""
    return {"code": code, "message": message, "request_id": rid, "data": {}}


def fault_body(rid: str, status: int, retry_after: float | None) -> dict[str, Any]:
    """The body sent with an injected HTTP status; the status itself is the fault's.

    Real TikTok rate-limits in an HTTP 200 with code 40100; an injected 429 keeps its 429 and
    Retry-After (the scenario asked for them) with that body. 5xx carry 50000 (system error).
    """
    if status == 429:
        return answer(RATE_LIMITED, "Too many requests. Please retry in some time.", rid)
    if status >= 500:
        return answer(SYSTEM_ERROR, "System error. Please retry later.", rid)
    return answer(BAD_PARAMETER, f"Request refused with HTTP {status}.", rid)


@dataclass(frozen=True)
class Outcome:
    """What TikTok answers about one request (its events are diagnosed later: `diagnoser`)."""

    code: int
    message: str

    @property
    def accepted(self) -> bool:
        return self.code == OK


def token_problem(headers: Mapping[str, str], config: SimConfig) -> tuple[int, str] | None:
    """Why the Access-Token header fails (40104 empty, 40105 invalid), or None.

    Any non-empty token passes unless `extra["tiktok_access_tokens"]` lists the valid ones;
    a `Bearer ` prefix is refused: TikTok takes the bare token in `Access-Token` (section 3).
    """
    token = (intake.header(headers, "Access-Token") or "").strip()
    if not token:
        return EMPTY_TOKEN, "Access token is null. Pass it in the Access-Token header."
    known = config.extra.get("tiktok_access_tokens")
    if token.lower().startswith("bearer ") or (known and token not in known):
        return BAD_TOKEN, "Access token is incorrect or has been revoked."
    return None


def pixel_problem(body: dict[str, Any], shape: str, config: SimConfig) -> str | None:
    """40001 when `extra["tiktok_pixel_codes"]` lists the pixels this token may write to [open]."""
    known = config.extra.get("tiktok_pixel_codes")
    name = "event_source_id" if shape == "events2" else "pixel_code"
    code = body.get(name)
    if known and code not in known:
        return f"{name}: No permission to operate pixel code {code}."
    return None


def receive(headers: Mapping[str, str], text: str, shape: str, config: SimConfig) -> Outcome:
    """Validate the whole request and decide the code, as TikTok answers at once."""
    body, problem = tiktok_parse.decode(text)
    if (token := token_problem(headers, config)) is not None:
        return Outcome(*token)
    problem = problem or tiktok_parse.check(body, shape)
    if problem is not None:
        return Outcome(BAD_PARAMETER, problem.message)
    if (denied := pixel_problem(body, shape, config)) is not None:
        return Outcome(NO_PERMISSION, denied)
    return Outcome(OK, "OK")


# Request shapes: Events 2.0, Events 1.0 track and batch.
SHAPES = ("events2", "track", "batch")


def diagnoser(shape: str) -> Callable[[Store, SimConfig, Row], tuple[list[Any], list[Any]]]:
    """The analyser's recipe for one request shape: the journal entry's events, attributed with
    one query per request, and its request-level findings."""

    def diagnose(store: Store, config: SimConfig, row: Row) -> tuple[list[Any], list[Any]]:
        body, _ = tiktok_parse.decode(row["body"])
        events = tiktok_parse.events(body, shape, row["ts"])
        issued = attribution.issued_clicks(
            store, "ttclid", (e["click_id"]["value"] for e in events if e["click_id"]))
        for event in events:
            click = event["click_id"]
            event["attribution"] = attribution.attribute(
                store, "ttclid", click["value"] if click else None,
                event_ts=event["event_time"], window_days=config.tiktok_click_window_days,
                issued=issued)
        return events, tiktok_parse.request_findings(body, shape)

    return diagnose


def handle(version: str, api: str, shape: str) -> Response:
    if not API_VERSION.fullmatch(version):
        abort(404)
    svc = services()
    captured = intake.read(request, platform="tiktok", api=api)
    now = svc.clock.now()
    rid = request_id(now)
    faulted = intake.play_fault(svc, captured, partial(fault_body, rid))
    if faulted is not None:
        return faulted
    outcome = receive(captured.headers, captured.body, shape, svc.config)
    return intake.respond(svc, captured, 200, answer(outcome.code, outcome.message, rid),
                          accepted=outcome.accepted, recipe=f"tiktok:{shape}")


@bp.post("/open_api/<version>/event/track/", strict_slashes=False)
def event_track(version: str) -> Response:
    """Events API 2.0 [3p: Segment, RudderStack; platform-rules.md section 3]."""
    return handle(version, "events2", "events2")


@bp.post("/open_api/<version>/pixel/track/", strict_slashes=False)
def pixel_track(version: str) -> Response:
    """Events API 1.0, one event [official: tiktok-business-api-sdk EventCallbackApi]."""
    return handle(version, "events1", "track")


@bp.post("/open_api/<version>/pixel/batch/", strict_slashes=False)
def pixel_batch(version: str) -> Response:
    """Events API 1.0, a batch [official: tiktok-business-api-sdk EventCallbackApi]."""
    return handle(version, "events1", "batch")
