"""Browser pixel events: what the platform's pixel on the landing page reported, journaled.

The seed network's advice for advertisers who run the pixel too: deduplicate pixel and postback
events with a shared event ID. A scenario records the browser's event here (api `pixel`), so the
mock deduplicates the receiver's server event against it as the platform would: Meta by
event_name + event_id within 48 hours, TikTok by event_id.
https://developers.facebook.com/documentation/ads-commerce/conversions-api/deduplicate-pixel-and-server-events
"""

from __future__ import annotations

import json
from typing import Any

from simulator.clock import Clock
from simulator.platforms import journal
from simulator.store import Store

PLATFORMS = ("meta", "tiktok")
API = "pixel"


def record_browser_event(store: Store, clock: Clock, *, platform: str, event_name: str,
                         event_id: str, pixel: str, url: str = "") -> dict[str, Any]:
    """Journal one browser event as accepted; returns the journal entry."""
    raw = {"event_name": event_name, "event_id": event_id, "pixel": pixel, "url": url}
    event = {
        "index": 0, "event_name": event_name, "event_time": int(clock.now().timestamp()),
        "event_id": event_id, "value": None, "currency": None, "click_id": None,
        "user": {}, "raw": raw, "field_prefix": "pixel",
        "attribution": {"status": "absent", "ad_click_id": None, "issued_click_id": None,
                        "detail": "browser pixel event"},
        "findings": [],
    }
    entry_id = journal.record(
        store, clock, platform=platform, api=API, method="POST", path=f"/{platform}/pixel",
        query={}, headers={}, body=json.dumps(raw), status=200, response={"ok": True},
        events=[event], accepted=True,
    )
    return store.get("journal", entry_id)
