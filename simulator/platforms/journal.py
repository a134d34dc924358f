"""The journal: every request a mock platform received, durably, with what it concluded."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from simulator.clock import Clock, iso
from simulator.store import Row, Store

SECRET_HEADERS = frozenset(
    {"authorization", "access-token", "developer-token", "x-goog-api-key", "cookie"}
)
SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})
PLATFORMS = ("meta", "tiktok", "google_ads", "datamanager")
# A token sent as a body field (Meta reads `access_token` from JSON, form or multipart bodies):
# the JSON string value, the form value up to the next `&`, or the multipart part's value line.
_BODY_SECRET = re.compile(
    r'(?P<json>"(?:access_token|appsecret_proof)"\s*:\s*")(?P<jv>(?:[^"\\]|\\.)*)"'
    r"|(?P<form>(?:^|&)(?:access_token|appsecret_proof)=)(?P<fv>[^&]*)"
    r'|(?P<part>name="(?:access_token|appsecret_proof)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)'
    r"(?P<pv>[^\r\n]*)"
)


def mask(value: str) -> str:
    """Keep enough of a secret to recognise it, never the whole thing."""
    return value[:4] + "…" if len(value) > 8 else "…"


def mask_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: (mask(v) if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def mask_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: (mask(v) if k in SECRET_PARAMS else v) for k, v in query.items()}


def mask_body(body: str) -> str:
    """The raw body with any token field masked, so the journal (API, dashboard) never shows it."""

    def masked(match: re.Match[str]) -> str:
        if match["json"] is not None:
            kept = mask(match["jv"])
            # A cut through an escape sequence would leave invalid JSON.
            return f'{match["json"]}{"…" if chr(92) in kept else kept}"'
        if match["form"] is not None:
            return f'{match["form"]}{mask(match["fv"])}'
        return f'{match["part"]}{mask(match["pv"])}'

    return _BODY_SECRET.sub(masked, body)


def record(
    store: Store,
    clock: Clock,
    *,
    platform: str,
    api: str,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: str,
    status: int,
    response: Any,
    events: list[dict[str, Any]] | None = None,
    findings: list[dict[str, Any]] | None = None,
    accepted: bool = False,
    fault: str | None = None,
) -> int:
    """Store one request and the answer sent; returns the journal id."""
    now = clock.now()
    return store.insert(
        "journal",
        {
            "platform": platform,
            "api": api,
            "method": method,
            "path": path,
            "query": mask_query(query),
            "headers": mask_headers(headers),
            "body": mask_body(body),
            "status": status,
            "response": response if isinstance(response, dict | list) else {"text": response},
            "accepted": accepted,
            "fault": fault,
            "findings": findings or [],
            "events": events or [],
            "received_at": iso(now),
            "ts": now.timestamp(),
        },
    )


def entry(row: Row) -> Row:
    """A journal row as the API and the rules see it."""
    row["accepted"] = bool(row["accepted"])
    return row


def search(
    store: Store,
    *,
    platform: str | None = None,
    since: float | None = None,
    until: float | None = None,
    click_id: str | None = None,
    conversion_id: str | None = None,
    after_id: int | None = None,
    limit: int = 1000,
) -> list[Row]:
    """Entries matching every given filter, oldest first.

    click_id and conversion_id match anywhere in the raw body, which is where a receiver puts
    them (inside fbc, as event_id or orderId); a modified ID therefore does not match.
    """
    clauses, params = [], []
    if platform:
        clauses.append("platform = ?")
        params.append(platform)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts <= ?")
        params.append(until)
    for needle in (click_id, conversion_id):
        if needle:
            # Form bodies hold the ID percent-encoded when it has reserved characters.
            clauses.append("(instr(body, ?) > 0 OR instr(body, ?) > 0)")
            params += [needle, quote_plus(needle)]
    if after_id is not None:
        clauses.append("id > ?")
        params.append(after_id)
    sql = "SELECT * FROM journal"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    return [entry(r) for r in store.query(sql, params)]


def wait_for(store: Store, *, count: int, timeout: float, **filters: Any) -> list[Row]:
    """Entries matching filters, returned as soon as there are `count` or when timeout passes.

    Polls SQLite (the writer may be another process when the runner uses --sim-url).
    """
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        rows = search(store, **filters)
        if len(rows) >= count or time.monotonic() >= deadline:
            return rows
        time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))


def decode_json(text: str) -> Any:
    """Parse a body, or None when it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return None
