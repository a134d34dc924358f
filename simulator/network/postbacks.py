"""The partner's postback settings: a global postback (offer_id NULL) and per-offer ones.

Both fire when both exist, as on real networks. Saving validates the URL template exactly as the
partner dashboard does (`macros.validate_template`): errors refuse the save, warnings (e.g. plain
http) come back with the saved postback.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from simulator import macros
from simulator.clock import Clock, iso
from simulator.errors import ApiError
from simulator.network.offers import get_offer
from simulator.network.records import require
from simulator.store import Row, Store


class TemplateError(ApiError):
    """An invalid postback URL; the body lists every problem, not only the first."""

    def __init__(self, result: macros.ValidationResult) -> None:
        first = result.errors[0]
        more = len(result.errors) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(
            f"url: {first.message}{suffix}", code="invalid_template", field="url", status=422
        )
        self.result = result

    def body(self) -> dict[str, Any]:
        out = super().body()
        out["error"].update(self.result.as_dict())
        return out


def check_template(url: str) -> list[dict[str, Any]]:
    """Validate a template; raise `TemplateError` on errors, return the warnings."""
    result = macros.validate_template(url)
    if result.errors:
        raise TemplateError(result)
    return [asdict(p) for p in result.warnings]


def present(row: Row) -> dict[str, Any]:
    return {**row, "enabled": bool(row["enabled"])}


def list_postbacks(store: Store, offer_id: int | None = None) -> list[dict[str, Any]]:
    """All postbacks, or those that fire for one offer (its own plus the global ones)."""
    if offer_id is None:
        rows = store.select("postbacks")
    else:
        rows = store.query(
            "SELECT * FROM postbacks WHERE offer_id IS NULL OR offer_id = ? ORDER BY id",
            (offer_id,),
        )
    return [present(r) for r in rows]


def get_postback(store: Store, postback_id: Any, field: str | None = None) -> Row:
    return require(store, "postbacks", postback_id, "postback", field)


def _normalise(values: dict[str, Any], current: Row | None = None) -> dict[str, Any]:
    """Method and body format settle together: GET has no body, POST defaults to a form body."""
    method = values.get("method", current["method"] if current else "GET")
    fmt = values.get("body_format", current["body_format"] if current else None)
    if method == "GET":
        if values.get("body_format") is not None:
            raise ApiError(
                "body_format: only POST postbacks have a body; set method to POST or drop "
                "body_format",
                field="body_format",
            )
        fmt = None
    elif fmt is None:
        fmt = "form"
    return {"method": method, "body_format": fmt}


def create_postback(store: Store, clock: Clock, values: dict[str, Any]) -> dict[str, Any]:
    """Save a postback; the answer carries the template's warnings."""
    offer_id = values.get("offer_id")
    if offer_id is not None:
        get_offer(store, offer_id, field="offer_id")
    warnings = check_template(values["url"])
    stamp = iso(clock.now())
    postback_id = store.insert(
        "postbacks",
        {
            "offer_id": offer_id,
            "url": values["url"],
            **_normalise(values),
            "enabled": values.get("enabled", True),
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    return {**present(get_postback(store, postback_id)), "warnings": warnings}


def update_postback(
    store: Store, clock: Clock, postback_id: int, values: dict[str, Any]
) -> dict[str, Any]:
    """Change some fields; a new URL is validated as on creation."""
    current = get_postback(store, postback_id)
    changes: dict[str, Any] = {}
    if "offer_id" in values:
        if values["offer_id"] is not None:
            get_offer(store, values["offer_id"], field="offer_id")
        changes["offer_id"] = values["offer_id"]
    url = values.get("url", current["url"])
    warnings = check_template(url)
    changes["url"] = url
    changes.update(_normalise(values, current))
    if "enabled" in values:
        changes["enabled"] = values["enabled"]
    changes["updated_at"] = iso(clock.now())
    store.update("postbacks", postback_id, changes)
    return {**present(get_postback(store, postback_id)), "warnings": warnings}


def delete_postback(store: Store, postback_id: int) -> None:
    """Remove a postback; its past deliveries stay (they keep the URL they sent)."""
    get_postback(store, postback_id)
    with store.transaction():
        store.execute(
            "UPDATE deliveries SET postback_id = NULL WHERE postback_id = ?", (postback_id,)
        )
        store.execute("DELETE FROM postbacks WHERE id = ?", (postback_id,))


def applicable(store: Store, offer_id: int, only: int | None = None) -> list[Row]:
    """The enabled postbacks that fire for a conversion on this offer: global first."""
    rows = store.query(
        "SELECT * FROM postbacks WHERE enabled = 1 AND (offer_id IS NULL OR offer_id = ?) "
        "ORDER BY offer_id IS NOT NULL, id",
        (offer_id,),
    )
    return [r for r in rows if only is None or r["id"] == only]
