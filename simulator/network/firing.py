"""Firing postbacks: one pending delivery per applicable postback, its macros expanded.

The delivery engine does the sending; this module only decides what to send. Rows are inserted in
the caller's transaction, so a conversion and its deliveries are stored together or not at all.
"""

from __future__ import annotations

from simulator import macros
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
) -> list[int]:
    """Queue the postbacks for one conversion or event (global first); returns delivery ids."""
    values = macros.macro_values(conversion, click, offer)
    now = clock.now()
    stamp = iso(now)
    ids = []
    for postback in applicable(store, offer["id"], only_postback):
        body = content_type = None
        if postback["method"] == "POST":
            fmt = postback["body_format"] or "form"
            body = macros.expand_body(values, fmt)
            content_type = macros.body_content_type(fmt)
        ids.append(
            store.insert(
                "deliveries",
                {
                    "conversion_id": conversion["id"],
                    "postback_id": postback["id"],
                    "method": postback["method"],
                    "url": macros.expand(postback["url"], values),
                    "body": body,
                    "content_type": content_type,
                    "status": "pending",
                    "next_attempt_at": now.timestamp(),
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
        )
    return ids
