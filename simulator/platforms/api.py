"""The mock platforms' JSON API: issue ad clicks, read the journal (with a wait), arm faults."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue

from simulator.clock import parse_iso
from simulator.errors import ApiError, not_found
from simulator.idempotency import idempotent
from simulator.platforms import clickids, faults, journal, pixel
from simulator.services import services

bp = Blueprint("platform_api", __name__, url_prefix="/api")

MAX_WAIT_S = 30.0
MAX_LIMIT = 10000
MAX_DELAY_S = 120.0
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer
# How far back an ad click may be placed: a century, well inside datetime's range.
MAX_AGO_DAYS = 36500.0
# ASCII digits only: str.isdigit() also accepts '³', which int() refuses.
DECIMAL = re.compile(r"-?[0-9]{1,20}")


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError("the request body must be a JSON object", code="invalid_body")
    return data


def _choice(value: Any, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ApiError(f"{field} must be one of {', '.join(allowed)}; got {value!r}",
                       code="invalid_choice", field=field)
    return value


def _number(value: Any, field: str, *, low: float, high: float | None = None) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ApiError(f"{field} must be a number; got {value!r}", field=field) from None
    if isinstance(value, bool) or number != number or number < low or (
        high is not None and number > high
    ):
        bounds = f">= {low:g}" + (f" and <= {high:g}" if high is not None else "")
        raise ApiError(f"{field} must be {bounds}; got {value!r}", field=field)
    return number


def _integer(value: Any, field: str, *, low: int, high: int | None = None) -> int:
    """An integer from JSON (448 or 448.0, as JSON Schema's integer allows) or a query string;
    compared exactly, never through a float."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not (
        isinstance(value, int) or (isinstance(value, str) and DECIMAL.fullmatch(value.strip()))
    ):
        raise ApiError(f"{field} must be an integer; got {value!r}", field=field)
    number = int(value)
    if number < low or (high is not None and number > high):
        bounds = f">= {low}" + (f" and <= {high}" if high is not None else "")
        raise ApiError(f"{field} must be {bounds}; got {value!r}", field=field)
    return number


def _instant(value: str, field: str) -> float:
    """Epoch seconds from an ISO 8601 string or a number."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        return parse_iso(value).timestamp()
    except ValueError:
        raise ApiError(f"{field} must be ISO 8601 or epoch seconds; got {value!r}",
                       field=field) from None


# --- ad clicks -------------------------------------------------------------------------------

def _click_time(data: dict[str, Any]) -> datetime | None:
    given = [k for k in ("at", "ago_seconds", "days_ago") if data.get(k) is not None]
    if len(given) > 1:
        raise ApiError(f"give at most one of at, ago_seconds, days_ago; got {', '.join(given)}",
                       code="conflict", field=given[1], status=422)
    now = services().clock.now()
    if "at" in given:
        if not isinstance(data["at"], str):
            raise ApiError("at must be an ISO 8601 string", field="at")
        try:
            return parse_iso(data["at"])
        except ValueError:
            raise ApiError(f"at must be ISO 8601; got {data['at']!r}", field="at") from None
    if "ago_seconds" in given:
        seconds = _number(data["ago_seconds"], "ago_seconds", low=0, high=MAX_AGO_DAYS * 86400)
        return now - timedelta(seconds=seconds)
    if "days_ago" in given:
        return now - timedelta(days=_number(data["days_ago"], "days_ago", low=0,
                                            high=MAX_AGO_DAYS))
    return None


@bp.post("/ad-clicks")
@idempotent
def issue_ad_click() -> ResponseReturnValue:
    data = _body()
    platform = _choice(data.get("platform"), "platform", tuple(clickids.KIND_BY_PLATFORM))
    variant = _choice(data.get("variant", "normal"), "variant", clickids.VARIANTS)
    at = _click_time(data)
    svc = services()
    row = clickids.issue(svc.store, svc.clock, svc.faker.random, platform, at=at, variant=variant)
    return row, 201


@bp.get("/ad-clicks")
def list_ad_clicks() -> ResponseReturnValue:
    where = {}
    if "platform" in request.args:
        where["platform"] = _choice(request.args["platform"], "platform",
                                    tuple(clickids.KIND_BY_PLATFORM))
    limit = _integer(request.args.get("limit", "1000"), "limit", low=1, high=MAX_LIMIT)
    rows = services().store.select("ad_clicks", where, limit=limit)
    return {"items": rows, "count": len(rows)}


@bp.get("/ad-clicks/<int:ad_click_id>")
def get_ad_click(ad_click_id: int) -> ResponseReturnValue:
    row = services().store.get("ad_clicks", ad_click_id)
    if row is None:
        raise not_found("ad click", ad_click_id, field="id")
    return row


# --- browser pixel events ----------------------------------------------------------------------

def _text_field(data: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = data.get(field, "" if not required else None)
    # Any non-empty string, exactly as the OpenAPI document says (minLength 1): a pixel's
    # event_id is opaque, and stripping would refuse what the document allows.
    if not isinstance(value, str) or (required and not value) or len(value) > 500:
        raise ApiError(f"{field} must be a non-empty string of at most 500 characters",
                       field=field)
    return value


@bp.post("/pixel-events")
def record_pixel_event() -> ResponseReturnValue:
    data = _body()
    platform = _choice(data.get("platform"), "platform", pixel.PLATFORMS)
    svc = services()
    entry = pixel.record_browser_event(
        svc.store, svc.clock, platform=platform,
        event_name=_text_field(data, "event_name"), event_id=_text_field(data, "event_id"),
        pixel=_text_field(data, "pixel"), url=_text_field(data, "url", required=False))
    return journal.entry(entry), 201


# --- journal ---------------------------------------------------------------------------------

def _journal_filters() -> dict[str, Any]:
    args = request.args
    filters: dict[str, Any] = {}
    if "platform" in args:
        filters["platform"] = _choice(args["platform"], "platform", journal.PLATFORMS)
    for name in ("since", "until"):
        if name in args:
            filters[name] = _instant(args[name], name)
    for name in ("click_id", "conversion_id"):
        if args.get(name):
            filters[name] = args[name]
    if "after_id" in args:
        filters["after_id"] = _integer(args["after_id"], "after_id", low=0, high=MAX_ROW_ID)
    filters["limit"] = _integer(args.get("limit", "1000"), "limit", low=1, high=MAX_LIMIT)
    return filters


@bp.get("/journal")
def list_journal() -> ResponseReturnValue:
    """Entries matching the filters; with `count`, waits until that many match or `timeout`."""
    filters = _journal_filters()
    store = services().store
    if "count" not in request.args:
        rows = journal.search(store, **filters)
        return {"items": rows, "count": len(rows)}
    count = _integer(request.args["count"], "count", low=1, high=MAX_LIMIT)
    timeout = _number(request.args.get("timeout", "10"), "timeout", low=0, high=MAX_WAIT_S)
    rows = journal.wait_for(store, count=count, timeout=timeout, **filters)
    return {"items": rows, "count": len(rows), "timed_out": len(rows) < count}


@bp.get("/journal/<int:entry_id>")
def get_journal_entry(entry_id: int) -> ResponseReturnValue:
    svc = services()
    svc.analyser.settle()
    row = svc.store.get("journal", entry_id)
    if row is None:
        raise not_found("journal entry", entry_id, field="id")
    return journal.entry(row)


# --- faults ----------------------------------------------------------------------------------

def _fault_settings(data: dict[str, Any], kind: str) -> dict[str, Any]:
    # Every field given is checked, whatever the kind, as the document describes them.
    status = _integer(data.get("status", 500), "status", low=400, high=599)
    retry_after = delay = None
    if "retry_after" in data:
        retry_after = _number(data["retry_after"], "retry_after", low=0, high=86400)
    if "delay" in data:
        delay = _number(data["delay"], "delay", low=0, high=MAX_DELAY_S)
    settings: dict[str, Any] = {"status": None, "retry_after": None, "delay": None}
    if kind == "status":
        settings.update(status=status, retry_after=retry_after)
    elif kind == "throttle":  # the platform's own rate-limit answer (intake.THROTTLE_HTTP)
        settings.update(status=429, retry_after=retry_after)
    elif kind == "delay":
        if delay is None:
            raise ApiError("delay (seconds) is required for a delay fault", code="required",
                           field="delay", status=422)
        settings["delay"] = delay
    return settings


@bp.post("/faults")
@idempotent
def arm_fault() -> ResponseReturnValue:
    data = _body()
    platform = _choice(data.get("platform"), "platform", journal.PLATFORMS)
    kind = _choice(data.get("kind"), "kind", faults.KINDS)
    count = _integer(data.get("count", 1), "count", low=1, high=MAX_LIMIT)
    svc = services()
    row = faults.add(svc.store, svc.clock, platform=platform, kind=kind, count=count,
                     **_fault_settings(data, kind))
    return row, 201


@bp.get("/faults")
def list_faults() -> ResponseReturnValue:
    where = {}
    if "platform" in request.args:
        where["platform"] = _choice(request.args["platform"], "platform", journal.PLATFORMS)
    rows = services().store.select("faults", where)
    return {"items": rows, "count": len(rows)}


@bp.delete("/faults")
def clear_faults() -> ResponseReturnValue:
    platform = request.args.get("platform")
    if platform is not None:
        _choice(platform, "platform", journal.PLATFORMS)
    return {"deleted": faults.clear(services().store, platform)}
