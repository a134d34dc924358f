"""Row lookups shared by the network's domain modules: find by id or public reference, or 404."""

from __future__ import annotations

from typing import Any

from simulator.errors import not_found
from simulator.store import Row, Store

# SQLite integers are signed 64-bit; a larger id in a path or body can name no row.
MAX_ROW_ID = 2**63 - 1


def require(store: Store, table: str, row_id: Any, what: str, field: str | None = None) -> Row:
    """The row with this id, or a 404 naming what was looked for."""
    row = None
    if isinstance(row_id, int) and not isinstance(row_id, bool) and 0 < row_id <= MAX_ROW_ID:
        row = store.get(table, row_id)
    if row is None:
        raise not_found(what, row_id, field=field)
    return row


def by_reference(
    store: Store, table: str, column: str, ref: str | int, what: str, field: str | None = None
) -> Row:
    """A row by its public reference (e.g. `unique_click_id`) or, failing that, its numeric id."""
    if isinstance(ref, str):
        row = store.find(table, **{column: ref})
        if row is not None:
            return row
        if not (ref.isascii() and ref.isdigit()) or len(ref) > 19:
            raise not_found(what, ref, field=field)
        ref = int(ref)
    return require(store, table, ref, what, field)
