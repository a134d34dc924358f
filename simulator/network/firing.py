"""Firing postbacks: one pending delivery per applicable postback, its macros expanded.

The delivery engine does the sending; this module only decides what to send. Rows are inserted in
the caller's transaction, so a conversion and its deliveries are stored together or not at all.
Each postback speaks its network persona: the persona's macros, encoding, body and retry schedule
apply, and it fires only for the statuses the persona sends (the seed's network: approval only).
"""

from __future__ import annotations

from simulator import macros, personas
from simulator.clock import Clock, iso
from simulator.network.postbacks import applicable
from simulator.store import Row, Store


def fire(
    store: Store,
    clock: Clock,
    conversion: Row,
    click: Row,
    offer: Row,
    *,
    only_postback: int | None = None,
    include_disabled: bool = False,
) -> list[int]:
    """Queue the postbacks for one conversion or event (global first); returns delivery ids."""
    status = conversion.get("status") or "approved"
    now = clock.now()
    stamp = iso(now)
    ids = []
    values_by_persona: dict[str, dict[str, str]] = {}
    for postback in applicable(store, offer["id"], only_postback,
                               include_disabled=include_disabled):
        persona = personas.get(postback.get("network"))
        if status not in persona.fires:
            continue
        values = values_by_persona.get(persona.name)
        if values is None:
            values = macros.macro_values(conversion, click, offer, persona)
            values_by_persona[persona.name] = values
        body = content_type = None
        if postback["method"] == "POST":
            fmt = postback["body_format"] or "form"
            body = macros.expand_body(values, fmt, persona)
            content_type = macros.body_content_type(fmt)
        ids.append(
            store.insert(
                "deliveries",
                {
                    "conversion_id": conversion["id"],
                    "postback_id": postback["id"],
                    "method": postback["method"],
                    "url": macros.expand(postback["url"], values, persona),
                    "body": body,
                    "content_type": content_type,
                    "status": "pending",
                    "next_attempt_at": now.timestamp(),
                    "retry_schedule": _schedule_text(persona),
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
        )
    return ids


def _schedule_text(persona: personas.Persona) -> str | None:
    """The persona's retry waits for the delivery row; None keeps the simulator's schedule (the
    default persona, whose waits are the simulator's own)."""
    if persona.name == personas.DEFAULT:
        return None
    return ",".join(f"{wait:g}" for wait in persona.retry_schedule)
