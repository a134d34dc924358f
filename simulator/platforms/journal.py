"""The journal: every request a mock platform received, durably, with what it concluded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus
from weakref import WeakKeyDictionary, WeakMethod

from simulator.clock import Clock, iso
from simulator.store import Row, Store

SECRET_HEADERS = frozenset(
    {"authorization", "access-token", "developer-token", "x-goog-api-key", "cookie"}
)
SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})
PLATFORMS = ("meta", "tiktok", "google_ads", "datamanager")
# How long a reader waits for the analyser by default (seconds).
SETTLE_S = 30.0
# Each store's analyser (platforms.analyser registers itself), so a reader of the journal waits
# for it and never sees an entry whose events are still to come; weak: a store's app may go.
_ANALYSERS: WeakKeyDictionary[Store, WeakMethod[Callable[[float], object]]] = WeakKeyDictionary()
# Stays under SQLite's oldest limit of 999 parameters per statement.
_IDS_PER_QUERY = 500
# A `since` search reads the entries in that window through a ts index and sorts them by id when
# fewer than this many are in it (the runner's windows); more, and it walks the journal in id
# order instead, which finds a page at once when most of the journal is in the window.
_WINDOW_SORT_MAX = 20_000
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
    if "access_token" not in body and "appsecret_proof" not in body:
        return body  # the usual case, and a substring test is far cheaper than the regex

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
    recipe: str | None = None,
    keys: list[EventKey] | None = None,
) -> int:
    """Store one request and the answer sent; returns the journal id.

    An accepted entry's events with an event_id also go to `journal_events`, in the same
    transaction, so dedup lookups (`earlier_events`) never read the journal itself; `keys`
    stands for those events when the entry's events come later. With `recipe`, the entry is
    answered before it is diagnosed: it joins `journal_backlog` in the same transaction and the
    analyser (`platforms.analyser`) fills its events and findings in.
    """
    now = clock.now()
    row = {
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
    }
    if keys is None:
        keys = event_keys(events or [])
    if not ((accepted and keys) or recipe):
        return store.insert("journal", row)
    with store.transaction():
        journal_id = store.insert("journal", row)
        if accepted:
            index_events(store, journal_id, platform, row["ts"], keys)
        if recipe:
            store.execute("INSERT INTO journal_backlog (journal_id, recipe) VALUES (?, ?)",
                          (journal_id, recipe))
    return journal_id


# (position, event_name, event_id, field_prefix) of one event with an event_id: its dedup key.
EventKey = tuple[int, str | None, str, str | None]


def event_keys(events: Iterable[Mapping[str, Any]]) -> list[EventKey]:
    """The dedup keys of NormalizedEvents (or of anything with their fields)."""
    return [(i, _text(e.get("event_name")), e["event_id"], _text(e.get("field_prefix")))
            for i, e in enumerate(events) if isinstance(e.get("event_id"), str)]


def index_events(
    store: Store, journal_id: int, platform: str, ts: float, keys: list[EventKey]
) -> None:
    """Index an accepted entry's events in `journal_events` (inside the entry's transaction)."""
    store.execute_many(
        "INSERT OR IGNORE INTO journal_events (journal_id, position, platform, event_name, "
        "event_id, field_prefix, ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(journal_id, i, platform, name, event_id, prefix, ts)
         for i, name, event_id, prefix in keys],
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def analysed_by(store: Store, settle: Callable[[float], object]) -> None:
    """Make `search` wait for this analyser (`settle(seconds)`, a bound method) before reading
    `store`; held weakly, as the analyser holds the store."""
    _ANALYSERS[store] = WeakMethod(settle)  # type: ignore[arg-type]


def earlier_events(
    store: Store, platform: str, event_ids: Iterable[str], since: float,
    before_id: int = 2**63 - 1,
) -> dict[tuple[str | None, str], tuple[int, str | None]]:
    """(event_name, event_id) -> (journal id, field_prefix) of its latest accepted entry since
    `since` and before entry `before_id`, first event of that entry; one indexed query per
    chunk of IDs."""
    ids = sorted(set(event_ids))
    found: dict[tuple[str | None, str], tuple[int, str | None]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        chunk = ids[start:start + _IDS_PER_QUERY]
        rows = store.query(
            "SELECT journal_id, event_name, event_id, field_prefix FROM journal_events "
            f"WHERE platform = ? AND event_id IN ({', '.join('?' * len(chunk))}) AND ts >= ? "
            "AND journal_id < ? ORDER BY journal_id DESC, position",
            [platform, *chunk, since, before_id],
        )
        for r in rows:
            found.setdefault((r["event_name"], r["event_id"]), (r["journal_id"], r["field_prefix"]))
    return found


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
    settle_s: float = SETTLE_S,
) -> list[Row]:
    """Entries matching every given filter, oldest first, once the store's analyser diagnosed
    every entry journaled so far (waiting at most `settle_s`; one still undiagnosed then is
    left out, never shown without its events).

    click_id and conversion_id match anywhere in the raw body, which is where a receiver puts
    them (inside fbc, as event_id or orderId); a modified ID therefore does not match.
    """
    ref = _ANALYSERS.get(store)
    settle = ref() if ref is not None else None
    if settle is not None:
        settle(settle_s)
    clauses, params = ["id NOT IN (SELECT journal_id FROM journal_backlog)"], []
    if platform:
        clauses.append("platform = ?")
        params.append(platform)
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts <= ?")
        params.append(until)
    source = _source(store, platform, since, until)
    for needle in (click_id, conversion_id):
        if needle:
            # Form bodies hold the ID percent-encoded when it has reserved characters.
            clauses.append("(instr(body, ?) > 0 OR instr(body, ?) > 0)")
            params += [needle, quote_plus(needle)]
    if after_id is not None:
        clauses.append("id > ?")
        params.append(after_id)
    sql = f"SELECT * FROM {source} WHERE " + " AND ".join(clauses) + " ORDER BY id LIMIT ?"
    params.append(limit)
    return [entry(r) for r in store.query(sql, params)]


def _source(store: Store, platform: str | None, since: float | None,
            until: float | None) -> str:
    """The journal, read through its ts index when `since` opens a small window (SQLite would
    otherwise walk every entry in id order to find the few at its end: docs/performance.md)."""
    if since is None:
        return "journal"
    where, params = "ts >= ?", [since]
    if platform:
        where, params = "platform = ? AND " + where, [platform, *params]
    if until is not None:
        where, params = where + " AND ts <= ?", [*params, until]
    counted = store.query_one(
        f"SELECT COUNT(*) AS n FROM (SELECT 1 FROM journal WHERE {where} LIMIT ?)",
        [*params, _WINDOW_SORT_MAX])
    if counted is None or counted["n"] >= _WINDOW_SORT_MAX:
        return "journal"
    return f"journal INDEXED BY {'journal_platform_ts' if platform else 'journal_ts'}"


def wait_for(store: Store, *, count: int, timeout: float, **filters: Any) -> list[Row]:
    """Entries matching filters, returned as soon as there are `count` or when timeout passes.

    Polls SQLite (the writer may be another process when the runner uses --sim-url).
    """
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        rows = search(store, settle_s=max(0.0, deadline - time.monotonic()), **filters)
        if len(rows) >= count or time.monotonic() >= deadline:
            return rows
        time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
