"""Mock Meta Conversions API: `POST /meta/{version}/{pixel_id}/events`, answering as Graph API.

Behaviour and sources: platform-rules.md section 2; parsing and error bodies in `meta_parse`,
the journal's view of each event in `meta_events`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Request, Response, request
from werkzeug.test import EnvironBuilder

from simulator.config import SimConfig
from simulator.platforms import intake
from simulator.platforms.attribution import issued_clicks
from simulator.platforms.intake import header
from simulator.platforms.journal import EventKey
from simulator.platforms.meta_events import fbclid_of, mark_duplicates, normalize
from simulator.platforms.meta_parse import (
    FORM_TYPES,
    MetaError,
    access_token,
    decode_item,
    fault_error,
    fbtrace_id,
    params,
    raw_items,
    validate,
)
from simulator.services import services
from simulator.store import Row, Store

bp = Blueprint("meta", __name__, url_prefix="/meta")

# Any Graph API version is accepted (design.md: mock base URLs); the SDK sends e.g. v26.0.
VERSION_RE = re.compile(r"v\d+(\.\d+)?")


def _fault_body(status: int, _retry_after: float | None) -> dict[str, Any]:
    return fault_error(status).body(fbtrace_id())


def _check_path(version: str, pixel_id: str) -> None:
    if not VERSION_RE.fullmatch(version):
        # Graph reads an unknown first segment as a path it cannot route [3p].
        raise MetaError(400, 2500, f"Unknown path components: /{version}/{pixel_id}/events")
    if not (pixel_id.isascii() and pixel_id.isdigit()):
        # The Graph API answer for an object id that does not exist [official: error handling].
        raise MetaError(
            400, 100,
            f"Unsupported post request. Object with ID '{pixel_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation. Please read "
            "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
            subcode=33,
        )


@bp.post("/<version>/<pixel_id>/events")
def events(version: str, pixel_id: str) -> Response:
    svc = services()
    captured = intake.read(request, "meta", "capi")
    faulted = intake.play_fault(svc, captured, _fault_body)
    if faulted is not None:
        return faulted
    trace = fbtrace_id()
    try:
        values = params(captured.query, request.mimetype, captured.body, captured.form)
        access_token(values, request.headers.get("Authorization"))
        _check_path(version, pixel_id)
        items = [decode_item(item) for item in raw_items(values)]
    except MetaError as err:
        return intake.respond(svc, captured, err.status, err.body(trace))

    # Events Manager diagnoses later (`diagnose`, run by the analyser); the API answers now.
    try:
        validate(items, svc.clock.time(), svc.config.meta_max_event_age_days)
    except MetaError as err:
        return intake.respond(svc, captured, err.status, err.body(trace), recipe="meta")
    # Success body [official: SDK EventResponse].
    body = {"events_received": len(items), "messages": [], "fbtrace_id": trace}
    return intake.respond(svc, captured, 200, body, accepted=True, recipe="meta",
                          keys=dedup_keys(items))


def dedup_keys(items: list[Any]) -> list[EventKey]:
    """The events' (event_name, event_id) keys, indexed as the request is journaled so a later
    entry's dedup never depends on when this one is diagnosed."""
    return [(i, name if isinstance(name := item.get("event_name"), str) else None,
             str(item["event_id"]), f"data[{i}]")
            for i, item in enumerate(items)
            if isinstance(item, dict) and item.get("event_id") is not None]


def diagnose(store: Store, config: SimConfig, row: Row) -> tuple[list[Any], list[Any]]:
    """The journal entry's NormalizedEvents and findings, read again from the request as
    journaled: attribution (one query per request), fbc, PII and dedup diagnostics."""
    mimetype = (header(row["headers"], "Content-Type") or "").partition(";")[0].strip().lower()
    form = _form(row, mimetype) if mimetype in FORM_TYPES else {}
    items = [decode_item(item) for item in raw_items(params(row["query"], mimetype,
                                                            row["body"], form))]
    now = row["ts"]
    issued = issued_clicks(store, "fbclid", map(fbclid_of, items))
    parsed = [normalize(store, item, i, now=now, window_days=config.meta_click_window_days,
                        issued=issued) for i, item in enumerate(items)]
    mark_duplicates(store, parsed, now, before_id=row["id"])
    return parsed, [f for event in parsed for f in event["findings"]]


def _form(row: Row, mimetype: str) -> dict[str, str]:
    """A form body's fields, parsed as the request's were (multipart included)."""
    environ = EnvironBuilder(method="POST", data=row["body"].encode("utf-8"), headers={
        "Content-Type": header(row["headers"], "Content-Type") or mimetype}).get_environ()
    return Request(environ).form.to_dict()
