"""The Meta Conversions API request every ingest peer is given: the path, a valid body, and
the JSON Schema of the whole request built from the mock's own per-event schema
(fixtures/schemas/meta_events.json), so WireMock and Prism validate what our mock validates."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENT_SCHEMA_PATH = REPO / "fixtures" / "schemas" / "meta_events.json"
PIXEL_ID = "1234567890"
ACCESS_TOKEN = "test-meta-token"
PATH = f"/meta/v21.0/{PIXEL_ID}/events"
QUERY = f"access_token={ACCESS_TOKEN}"
# Real Meta caps a request at 1,000 events (platform-rules.md section 2).
MAX_EVENTS = 1000


def event_schema() -> dict[str, Any]:
    return json.loads(EVENT_SCHEMA_PATH.read_text(encoding="utf-8"))


def request_schema(defs_pointer: str = "#/$defs/") -> dict[str, Any]:
    """`{"data": [event, ...]}` with the mock's event schema for each item; `$defs` refs are
    rewritten to `defs_pointer` (OpenAPI keeps them under `#/components/schemas/`)."""
    event = event_schema()
    defs = event.pop("$defs", {})
    for key in ("$schema", "$id"):
        event.pop(key, None)
    text = json.dumps(event).replace('"#/$defs/', f'"{defs_pointer}')
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {"type": "array", "minItems": 1, "maxItems": MAX_EVENTS,
                     "items": json.loads(text)},
            "access_token": {"type": "string"},
            "test_event_code": {"type": "string"},
        },
    }
    if defs_pointer == "#/$defs/":
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
                  "$defs": copy.deepcopy(defs)}
    return schema


def schema_defs() -> dict[str, Any]:
    return event_schema().get("$defs", {})


def event_template(now: int | None = None) -> dict[str, Any]:
    """One valid website Purchase; `__SEQ__` in event_id is made unique per request by wrk."""
    event_time = int(time.time()) if now is None else now
    return {
        "event_name": "Purchase",
        "event_time": event_time,
        "action_source": "website",
        "event_source_url": "https://shop.example.com/checkout",
        "event_id": "__SEQ__",
        "user_data": {
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                 "(KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "fbc": f"fb.1.{event_time * 1000}.IwAR2bench0000000000000000000000000000000",
        },
        "custom_data": {"value": 12.5, "currency": "USD"},
    }


def body_template(events: int) -> str:
    """A request body with `events` events, each with its own `__SEQ__` event_id."""
    event = event_template()
    return json.dumps({"data": [event] * events}, separators=(",", ":"))
