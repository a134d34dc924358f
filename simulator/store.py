"""The one module that owns SQLite: connection, schema, and table-level reads and writes.

Domain modules speak in rows (dicts) through `Store`; none of them opens a connection. A single
connection guarded by a lock serves every thread: SQLite serialises writers anyway, and it keeps
`:memory:` databases shared between the web threads and the delivery workers.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import orjson

# Columns holding JSON text; encoded on write, decoded on read.
JSON_COLUMNS = frozenset({"query", "headers", "response", "findings", "events"})

Row = dict[str, Any]
# Columns added to schema.sql after its tables first shipped: (table, column) -> type.
ADDED_COLUMNS = {
    ("deliveries", "lease_owner"): "TEXT",
    ("postbacks", "network"): "TEXT NOT NULL DEFAULT 'inflektion'",
    ("postbacks", "disabled_reason"): "TEXT",
    ("postbacks", "disabled_at"): "TEXT",
    ("offers", "network"): "TEXT",
    ("deliveries", "retry_schedule"): "TEXT",
}


def _loads(text: str) -> Any:
    if text.startswith(" "):
        # Marked by _dumps: may hold NaN or integers past 64 bits, which orjson cannot read back.
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # Rows written before orjson may hold NaN or Infinity (json's extensions).
        return json.loads(text)


def _finite(value: dict | list) -> bool:
    """False when a float inside is NaN or infinite (visits containers only, not every leaf)."""
    stack = [value]
    while stack:
        node = stack.pop()
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is float:
                if not math.isfinite(item):
                    return False
            elif kind is dict or kind is list or kind is tuple:
                stack.append(item)
    return True


def _dumps(value: dict | list) -> str:
    """Compact UTF-8 JSON, as json.dumps(ensure_ascii=False, separators=(",", ":")) writes it.

    orjson is several times faster on the journal's event lists. It writes NaN and Infinity as
    null and refuses integers past 64 bits and lone surrogates; those values go through json, as
    before, with a leading space (still valid JSON for SQLite) so _loads reads them with json too.
    A lone surrogate (`"\\ud800"` in a request) has no UTF-8 form, so that text keeps it escaped.
    """
    try:
        out = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        out = None
    if out is None or (b"null" in out and not _finite(value)):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if not _utf8(text):
            text = json.dumps(value, separators=(",", ":"))
        return " " + text
    return out.decode("utf-8")


def _utf8(text: str) -> bool:
    """False when the text holds a lone surrogate, which SQLite cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _scrub(params: Any) -> Any:
    """Parameters with each lone surrogate in a text value replaced by U+FFFD."""

    def clean(value: Any) -> Any:
        if isinstance(value, str) and not _utf8(value):
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        return value

    if isinstance(params, Mapping):
        return {k: clean(v) for k, v in params.items()}
    return [clean(v) for v in params]


def _decode(row: sqlite3.Row) -> Row:
    out = dict(row)
    for key in JSON_COLUMNS.intersection(out):
        if isinstance(out[key], str):
            out[key] = _loads(out[key])
    return out


def _encode(value: Any) -> Any:
    if isinstance(value, dict | list):
        return _dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


class Store:
    """SQLite storage for the simulator; create one per app (never module-global)."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        schema = resources.files("simulator").joinpath("schema.sql").read_text(encoding="utf-8")
        with self._lock:
            self._conn.executescript(schema)
            self._add_new_columns()

    def _add_new_columns(self) -> None:
        """Give a database file made by an older version the columns added since."""
        for (table, column), kind in ADDED_COLUMNS.items():
            have = {r["name"] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Group writes atomically; nested use joins the outer transaction."""
        with self._lock:
            if self._conn.in_transaction:
                yield self
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _run(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> sqlite3.Cursor:
        """Execute; text SQLite cannot encode (a lone surrogate) is stored with U+FFFD instead."""
        try:
            return self._conn.execute(sql, params)
        except UnicodeEncodeError:
            return self._conn.execute(sql, _scrub(params))

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> int:
        """Run a write; returns the affected row count."""
        with self._lock:
            return self._run(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one write statement for each row of parameters (values are not JSON-encoded)."""
        with self._lock:
            rows = list(rows)
            try:
                self._conn.executemany(sql, rows)
            except UnicodeEncodeError:
                self._conn.executemany(sql, [_scrub(r) for r in rows])

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        with self._lock:
            return [_decode(r) for r in self._run(sql, params).fetchall()]

    def query_one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        """Insert one row; returns its id."""
        cols = list(values)
        sql = (
            f"INSERT INTO {table} ({', '.join(cols)}) "
            f"VALUES ({', '.join('?' for _ in cols)})"
        )
        with self._lock:
            cur = self._run(sql, [_encode(values[c]) for c in cols])
            return int(cur.lastrowid)

    def get(self, table: str, row_id: int) -> Row | None:
        return self.query_one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    def find(self, table: str, **where: Any) -> Row | None:
        rows = self.select(table, where, limit=1)
        return rows[0] if rows else None

    def select(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        *,
        order_by: str = "id",
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Rows whose columns equal `where` (None matches NULL)."""
        clauses, params = [], []
        for col, val in (where or {}).items():
            if val is None:
                clauses.append(f"{col} IS NULL")
            else:
                clauses.append(f"{col} = ?")
                params.append(_encode(val))
        sql = f"SELECT * FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order_by}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return self.query(sql, params)

    def update(self, table: str, row_id: int, values: Mapping[str, Any]) -> None:
        cols = list(values)
        sql = f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?"
        self.execute(sql, [*(_encode(values[c]) for c in cols), row_id])

    def count(self, table: str, **where: Any) -> int:
        clauses = " AND ".join(f"{c} = ?" for c in where)
        sql = f"SELECT COUNT(*) AS n FROM {table}" + (f" WHERE {clauses}" if clauses else "")
        row = self.query_one(sql, [_encode(v) for v in where.values()])
        return int(row["n"]) if row else 0
