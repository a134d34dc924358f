"""Reading request bodies the way Google's protobuf JSON parser does, validated by our schemas.

Proto3 JSON accepts a field under its lowerCamelCase JSON name or its original snake_case name
[official: protobuf.dev/programming-guides/json "Parsers accept both"], so bodies are camelised
before validation; the JSON Schemas in fixtures/schemas are written in camelCase.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from postback_sim_data import SCHEMAS as SCHEMA_DIR
from simulator.platforms import payload

# int64 fields, and the IDs in resource names, hold at most 2^63 - 1; protobuf's JSON parser
# refuses a larger integer as INVALID_ARGUMENT [official: protobuf.dev/programming-guides/json,
# int64 "JSON value will be a decimal string. Either numbers or strings are accepted"].
INT64_MAX = 2**63 - 1


def fits_int64(digits: str) -> bool:
    """Whether a string of ASCII digits is an ID an int64 holds (length first: no huge int())."""
    return len(digits.lstrip("0")) <= 19 and int(digits) <= INT64_MAX


def camel(name: str) -> str:
    """conversion_date_time -> conversionDateTime (a name already in camelCase is unchanged)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake(name: str) -> str:
    """conversionDateTime -> conversion_date_time: the form Google uses in field paths."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def camelize(value: Any) -> Any:
    """A copy of a parsed body with every object key in its camelCase JSON name."""
    if isinstance(value, dict):
        return {camel(k): camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """The compiled validator for fixtures/schemas/<schema_name> (read once per process)."""
    schema = json.loads((SCHEMA_DIR / schema_name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@dataclass(frozen=True)
class SchemaViolation:
    """One schema failure, in Google's words: where (snake_case dotted path), what, and why."""

    field: str
    keyword: str
    reason: str | None
    description: str


def path_of(error: ValidationError, extra: str | None = None) -> str:
    """deque(['conversions', 0, 'gclid']) -> conversions[0].gclid (snake_case names)."""
    out = ""
    for part in [*error.absolute_path, *([extra] if extra else [])]:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + snake(str(part))
    return out


def describe(error: ValidationError) -> SchemaViolation:
    """Turn a jsonschema error into the protobuf parser's phrasing plus the schema's x-reason."""
    keyword = str(error.validator)
    reason = error.schema.get("x-reason") if isinstance(error.schema, dict) else None
    where = path_of(error)
    if keyword == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        name = unknown[0] if unknown else "?"
        at = f" at '{where}'" if where else ""
        return SchemaViolation(where, keyword, reason,
                               f'Unknown name "{name}"{at}: Cannot find field.')
    if keyword == "required":
        missing = str(error.validator_value[0]) if error.validator_value else "?"
        for candidate in error.validator_value:
            if candidate not in error.instance:
                missing = str(candidate)
                break
        field = path_of(error, missing)
        return SchemaViolation(field, keyword, reason or "REQUIRED_FIELD_MISSING",
                               f"Required field {field} is missing.")
    if keyword == "enum":
        return SchemaViolation(where, keyword, reason or "INVALID_ENUM_VALUE",
                               f"Invalid value at '{where}', {json.dumps(error.instance)}")
    if keyword == "pattern":
        return SchemaViolation(where, keyword, reason or "INVALID_FORMAT",
                               f"Invalid format at '{where}': {json.dumps(error.instance)}")
    if keyword == "maxItems":
        return SchemaViolation(where, keyword, reason or "TOO_MANY_ELEMENTS",
                               f"Too many elements at '{where}': {len(error.instance)}, "
                               f"at most {error.validator_value} are allowed.")
    if keyword in ("minItems", "minLength", "minProperties"):
        return SchemaViolation(where, keyword, "REQUIRED_FIELD_MISSING" if keyword != "minLength"
                               else reason or "REQUIRED_FIELD_MISSING",
                               f"Required field {where} is missing.")
    if keyword == "maxProperties":
        return SchemaViolation(where, keyword, None,
                               f"At '{where}', only one of {sorted(error.instance)} may be set.")
    # Wrong JSON types are the protobuf parser's complaint, before any ErrorReason applies; it
    # names the field's type where the schema gives it ("Invalid value at 'job_id' (TYPE_INT32)").
    kind = error.schema.get("x-proto-type") if isinstance(error.schema, dict) else None
    return SchemaViolation(where, keyword, None,
                           f"Invalid value at '{where}'{f' ({kind})' if kind else ''}, "
                           f"{json.dumps(error.instance)[:200]}")


def violations(schema_name: str, body: Any) -> list[SchemaViolation]:
    """Every schema failure of a camelised body, in document order."""
    errors = sorted(
        validator(schema_name).iter_errors(body),
        key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, str(p))
                       for p in e.absolute_path],
    )
    return [describe(e) for e in errors]


def parse_json(text: str) -> tuple[Any, str | None]:
    """(parsed body, None) or (None, the parser's complaint)."""
    try:
        return payload.loads(text), None
    except payload.PayloadError as exc:
        return None, f"Unexpected token. {exc.msg} at line {exc.lineno} column {exc.colno}."


def parse_timestamp(text: str) -> float:
    """RFC 3339 (the JSON form of google.protobuf.Timestamp) -> epoch seconds; ValueError if not."""
    if "T" not in text:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    head, _, rest = text.partition(".")
    if rest:
        # Python parses at most 6 fractional digits; protobuf allows 9.
        digits = re.match(r"\d+", rest)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{frac[:6].ljust(6, '0')}{rest[len(frac):]}"
    when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"RFC 3339 needs an offset or Z: {text!r}")
    return when.timestamp()
