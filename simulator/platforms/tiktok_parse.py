"""TikTok Events API request validation and normalisation, for Events 2.0 and legacy 1.0.

Follows platform-rules.md section 3; the JSON Schemas in fixtures/schemas drive the checks.
Pure functions over the decoded body: no Flask and no store, so they test without an app.
Messages copy the `field: reason` form of TikTok's marshmallow-backed answers [3p]; the field
path is written `data[0].event_time` so a receiver's author can find it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from postback_sim_data import SCHEMAS as SCHEMA_DIR
from simulator.platforms import payload

RULES_DOC = "platform-rules.md section 3"

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
ANY_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
CURRENCY = re.compile(r"[A-Z]{3}")
# Unix seconds stay below 1e11 until the year 5138; anything larger is milliseconds.
MS_THRESHOLD = 10**11

TYPE_MESSAGES = {
    "integer": "Not a valid integer.",
    "number": "Not a valid number.",
    "string": "Not a valid string.",
    "boolean": "Not a valid boolean.",
    "array": "Not a valid list.",
    "object": "Not a valid mapping type.",
}
# Keys that belong to the other API generation, per level (platform-rules.md section 3).
EVENTS1_BODY_KEYS = ("pixel_code", "batch", "event", "context", "timestamp")
EVENTS2_BODY_KEYS = ("event_source", "event_source_id", "data")
EVENTS1_EVENT_KEYS = ("context", "timestamp")
EVENTS2_EVENT_KEYS = ("user", "event_time", "page")


def _load_validator(file: str, definition: str | None = None) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / file).read_text(encoding="utf-8"))
    if definition:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(schema)


# Constants built once at import: the schemas never change while the app runs.
VALIDATORS = {
    "events2": _load_validator("tiktok_events2.json"),
    "track": _load_validator("tiktok_events1.json", "track"),
    "batch": _load_validator("tiktok_events1.json", "batch"),
}


@dataclass(frozen=True)
class Problem:
    """Why TikTok would answer 40002: the offending field and the reason."""

    field: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.field}: {self.reason}"


def at(prefix: str, name: str) -> str:
    """`data[0]` + `user` -> `data[0].user`; a single Events 1.0 event has no prefix."""
    return f"{prefix}.{name}" if prefix else name


def path_text(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else at(text, str(part))
    return text


def decode(text: str) -> tuple[Any, Problem | None]:
    """The JSON body, or the 40002 problem when it is not a JSON object."""
    try:
        body = payload.loads(text)
    except payload.PayloadError:
        return None, Problem("body", "Invalid JSON.")
    if not isinstance(body, dict):
        return body, Problem("body", "Must be a JSON object.")
    return body, None


def _reason(err: ValidationError) -> str:
    if err.validator == "type":
        expected = err.validator_value
        first = expected[0] if isinstance(expected, list) else expected
        return TYPE_MESSAGES.get(first, "Invalid type.")
    if err.validator == "enum":
        return "Must be one of: " + ", ".join(map(str, err.validator_value)) + "."
    if err.validator in ("minItems", "maxItems"):
        return (f"Length must be between {err.schema.get('minItems', 0)} and "
                f"{err.schema.get('maxItems', 'unlimited')}.")
    if err.validator == "minLength":
        return "Field may not be empty."
    if err.validator == "minimum":
        return f"Must be greater than or equal to {err.validator_value}."
    if err.validator == "maximum":
        return f"Must be less than or equal to {err.validator_value}."
    if err.validator == "pattern":
        return "Not a valid number."
    return err.message


def _problem(err: ValidationError) -> Problem:
    parts = list(err.absolute_path)
    if err.validator == "required":
        missing = next(n for n in err.validator_value if n not in err.instance)
        return Problem(path_text([*parts, missing]), "Missing data for required field.")
    return Problem(path_text(parts) or "body", _reason(err))


def _document_order(err: ValidationError) -> list[tuple[int, Any]]:
    return [(0, p) if isinstance(p, int) else (1, str(p)) for p in err.absolute_path]


def check(body: dict[str, Any], shape: str) -> Problem | None:
    """The first problem in document order that makes TikTok refuse the whole request."""
    errors = sorted(VALIDATORS[shape].iter_errors(body), key=_document_order)
    if errors:
        return _problem(errors[0])
    for _, prefix, raw in raw_events(body, shape):
        stamp = raw.get("timestamp")
        if isinstance(stamp, str) and parse_timestamp(stamp) is None:
            return Problem(at(prefix, "timestamp"), "Not a valid datetime.")
    return None


def parse_timestamp(value: str) -> datetime | None:
    """Events 1.0 `timestamp`, ISO 8601; a value without an offset is read as UTC [open]."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def raw_events(body: Any, shape: str) -> list[tuple[int, str, dict[str, Any]]]:
    """(index, field prefix, event object) per event; tolerant of broken bodies."""
    if not isinstance(body, dict):
        return []
    if shape == "track":
        return [(0, "", body)]
    name = "data" if shape == "events2" else "batch"
    items = body.get(name)
    if not isinstance(items, list):
        return []
    return [(i, f"{name}[{i}]", item) for i, item in enumerate(items) if isinstance(item, dict)]


# Where each generation carries the ttclid (platform-rules.md section 3).
TTCLID_FIELD = {"events2": ("user", "ttclid"), "track": ("context", "ad", "callback"),
                "batch": ("context", "ad", "callback")}


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def shape_findings(body: Any, shape: str) -> list[dict[str, Any]]:
    """Keys of the other API generation: a receiver mixing Events 1.0 and 2.0 (section 3).

    A ttclid in the other generation's place is named by its own path, since TikTok will not
    attribute the event through it.
    """
    if not isinstance(body, dict):
        return []
    this, other = ("2.0", "1.0") if shape == "events2" else ("1.0", "2.0")
    body_keys = EVENTS1_BODY_KEYS if shape == "events2" else EVENTS2_BODY_KEYS
    event_keys = EVENTS1_EVENT_KEYS if shape == "events2" else EVENTS2_EVENT_KEYS
    misplaced = TTCLID_FIELD["track" if shape == "events2" else "events2"]
    expected = ".".join(TTCLID_FIELD[shape])
    found = [_mixed(key, this, other) for key in body_keys if key in body]
    for _, prefix, raw in raw_events(body, shape):
        for key in event_keys:
            if key == misplaced[0] and _dig(raw, misplaced):
                found.append(finding(
                    "mixed_api_shapes", at(prefix, ".".join(misplaced)),
                    f"a ttclid in an Events API {other} field; an Events API {this} request "
                    f"carries it in {expected}, so TikTok does not attribute through it"))
            elif key in raw:
                found.append(_mixed(at(prefix, key), this, other))
    return found


def _mixed(field: str, this: str, other: str) -> dict[str, Any]:
    return finding("mixed_api_shapes", field,
                   f"an Events API {other} field in an Events API {this} request; TikTok reads "
                   f"only the {this} shape, so it is ignored ({RULES_DOC})")


def request_findings(body: Any, shape: str) -> list[dict[str, Any]]:
    """Request-level diagnostics: mixed shapes and test traffic."""
    found = shape_findings(body, shape)
    if isinstance(body, dict) and body.get("test_event_code"):
        found.append(finding(
            "test_event_code", "test_event_code",
            "test_event_code is set: TikTok shows these events in Test Events only and does "
            "not use them for attribution or reporting"))
    return found


def finding(code: str, field: str, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": f"{field}: {message}"}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def identity_findings(
    plain: dict[str, Any], hashed: dict[str, Any]
) -> list[dict[str, Any]]:
    """ttclid/ttp/ip/user_agent are sent as received; email/phone/external_id as SHA-256 hex.

    Keys are field paths ending in the field's name; section 3 of platform-rules.md.
    """
    found = []
    for field, value in plain.items():
        # Events 1.0 calls the ttclid `callback`; the finding names what it holds.
        name = "ttclid" if field.endswith("ad.callback") else field.rsplit(".", 1)[-1]
        if isinstance(value, str) and ANY_HEX64.fullmatch(value):
            found.append(finding(f"hashed_{name}", field,
                                 f"{name} looks SHA-256 hashed; TikTok expects it as received"))
    for field, value in hashed.items():
        name = field.rsplit(".", 1)[-1]
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and not SHA256_HEX.fullmatch(v) for v in values):
            found.append(finding(f"unhashed_{name}", field,
                                 f"{name} is not a lowercase SHA-256 hex digest"))
    return found


def properties_findings(prefix: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """Value sent as text, currency not ISO 4217, no event_id for Pixel deduplication."""
    found = []
    props = _dict(raw.get("properties"))
    if isinstance(props.get("value"), str):
        found.append(finding("value_not_number", at(prefix, "properties.value"),
                             "value is a string; TikTok documents a number"))
    currency = props.get("currency")
    if currency is not None and not (isinstance(currency, str) and CURRENCY.fullmatch(currency)):
        found.append(finding("currency_invalid", at(prefix, "properties.currency"),
                             f"{currency!r} is not an upper-case ISO 4217 code"))
    if not _text(raw.get("event_id")):
        found.append(finding("event_id_missing", at(prefix, "event_id"),
                             "no event_id: TikTok cannot deduplicate this event against the "
                             "Pixel's (event_id deduplicates server and Pixel events)"))
    return found


def normalized(
    index: int, prefix: str, raw: dict[str, Any], *, event_time: int | float | None,
    click: tuple[str | None, str], ip: Any, user_agent: Any, findings: list[dict[str, Any]],
) -> dict[str, Any]:
    """A NormalizedEvent (ARCHITECTURE.md) without its attribution, which needs the store."""
    props = _dict(raw.get("properties"))
    click_value, click_field = click
    return {
        "index": index,
        "event_name": _text(raw.get("event")),
        "event_time": event_time,
        "event_id": _text(raw.get("event_id")),
        "value": _number(props.get("value")),
        "currency": _text(props.get("currency")),
        "click_id": ({"kind": "ttclid", "value": click_value, "field": click_field}
                     if click_value else None),
        "user": {"ip": _text(ip), "user_agent": _text(user_agent)},
        "raw": raw,
        "field_prefix": prefix,
        "attribution": None,
        "findings": findings,
    }


def events2_event(index: int, prefix: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Events 2.0: `event_time` in Unix seconds, the ttclid in `user.ttclid`."""
    user = _dict(raw.get("user"))
    event_time = raw.get("event_time")
    if isinstance(event_time, bool) or not isinstance(event_time, int):
        event_time = None
    found = identity_findings(
        {at(prefix, f"user.{k}"): user.get(k) for k in ("ttclid", "ttp", "ip", "user_agent")},
        {at(prefix, f"user.{k}"): user.get(k) for k in ("email", "phone", "external_id")},
    )
    if event_time is not None and event_time >= MS_THRESHOLD:
        found.append(finding("event_time_ms", at(prefix, "event_time"),
                             f"{event_time} looks like milliseconds; TikTok reads Unix seconds"))
    found += properties_findings(prefix, raw)
    return normalized(index, prefix, raw, event_time=event_time,
                      click=(_text(user.get("ttclid")), at(prefix, "user.ttclid")),
                      ip=user.get("ip"), user_agent=user.get("user_agent"), findings=found)


def events1_event(
    index: int, prefix: str, raw: dict[str, Any], received_ts: float
) -> dict[str, Any]:
    """Events 1.0: ISO `timestamp` (absent: the time received [open]), `context.ad.callback`."""
    context = _dict(raw.get("context"))
    user = _dict(context.get("user"))
    found = identity_findings(
        {at(prefix, "context.ad.callback"): _dict(context.get("ad")).get("callback"),
         at(prefix, "context.user.ttp"): user.get("ttp"),
         at(prefix, "context.ip"): context.get("ip"),
         at(prefix, "context.user_agent"): context.get("user_agent")},
        {at(prefix, f"context.user.{k}"): user.get(k)
         for k in ("email", "phone_number", "external_id")},
    )
    stamp = raw.get("timestamp")
    parsed = parse_timestamp(stamp) if isinstance(stamp, str) else None
    event_time: float | None = parsed.timestamp() if parsed else None
    if stamp is None:
        event_time = received_ts
        found.append(finding("timestamp_missing", at(prefix, "timestamp"),
                             "no timestamp: TikTok dates the event when it receives it"))
    elif parsed is not None and datetime.fromisoformat(stamp).tzinfo is None:
        found.append(finding("timestamp_without_offset", at(prefix, "timestamp"),
                             f"{stamp!r} has no UTC offset; read as UTC"))
    found += properties_findings(prefix, raw)
    callback = _text(_dict(context.get("ad")).get("callback"))
    return normalized(index, prefix, raw, event_time=event_time,
                      click=(callback, at(prefix, "context.ad.callback")),
                      ip=context.get("ip"), user_agent=context.get("user_agent"), findings=found)


def events(body: Any, shape: str, received_ts: float) -> list[dict[str, Any]]:
    """Every event in the body, normalised; works on rejected bodies too, for the journal."""
    if shape == "events2":
        return [events2_event(i, prefix, raw) for i, prefix, raw in raw_events(body, shape)]
    return [events1_event(i, prefix, raw, received_ts)
            for i, prefix, raw in raw_events(body, shape)]
