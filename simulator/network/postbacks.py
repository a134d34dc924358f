"""The partner's postback settings: a global postback (offer_id NULL) and per-offer ones.

Both fire when both exist, as on real networks. Saving validates the URL template exactly as the
partner dashboard does (`macros.validate_template`): errors refuse the save, warnings (e.g. plain
http) come back with the saved postback. Each postback speaks one network persona (`network`,
default: its offer's, else the seed's network), which decides its macros, method and retries.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from simulator import macros, personas
from simulator.clock import Clock, iso
from simulator.errors import ApiError
from simulator.network.offers import get_offer, persona_of
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


def check_template(url: str, persona: personas.Persona | None = None) -> list[dict[str, Any]]:
    """Validate a template; raise `TemplateError` on errors, return the warnings."""
    result = macros.validate_template(url, persona)
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


def _normalise(
    values: dict[str, Any], current: Row | None = None, persona: personas.Persona | None = None
) -> dict[str, Any]:
    """Method and body format settle together: GET has no body, POST defaults to a form body
    (a new postback takes its persona's method and body)."""
    default = persona.method if persona else "GET"
    method = values.get("method", current["method"] if current else default)
    if current is None and "method" not in values and persona and persona.body_format:
        values = {"body_format": persona.body_format, **values}
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
    offer = get_offer(store, offer_id, field="offer_id") if offer_id is not None else None
    persona = persona_of(values.get("network") or (offer or {}).get("network"))
    warnings = check_template(values["url"], persona)
    stamp = iso(clock.now())
    postback_id = store.insert(
        "postbacks",
        {
            "offer_id": offer_id,
            "url": values["url"],
            "network": persona.name,
            **_normalise(values, None, persona),
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
    persona = persona_of(values.get("network", current["network"]))
    warnings = check_template(url, persona)
    changes["url"] = url
    changes["network"] = persona.name
    changes.update(_normalise(values, current))
    if "enabled" in values:
        changes["enabled"] = values["enabled"]
        if values["enabled"]:
            changes.update(disabled_reason=None, disabled_at=None)
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


def applicable(
    store: Store, offer_id: int, only: int | None = None, *, include_disabled: bool = False
) -> list[Row]:
    """The enabled postbacks that fire for a conversion on this offer: global first (a test
    of one named postback fires it even when disabled)."""
    enabled = "" if include_disabled else "enabled = 1 AND "
    rows = store.query(
        f"SELECT * FROM postbacks WHERE {enabled}(offer_id IS NULL OR offer_id = ?) "
        "ORDER BY offer_id IS NOT NULL, id",
        (offer_id,),
    )
    return [r for r in rows if only is None or r["id"] == only]
