"""Request parsing for the JSON API: bodies are checked against the schemas of this package's
OpenAPI fragment (one source of truth for docs and behaviour); query strings by small converters.

Every mistake becomes an `ApiError` naming the field and the problem, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
from flask import request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from simulator.errors import ApiError
from simulator.network.moments import parse_moment

# ASCII digits only: str.isdigit() also accepts '³' and '①', which int() refuses.
DECIMAL = re.compile(r"-?[0-9]{1,20}")
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
               int: "an integer", float: "a number", type(None): "null"}


@cache
def fragment() -> dict[str, Any]:
    """The network's OpenAPI fragment (read once; never mutated)."""
    text = resources.files("simulator.network").joinpath("openapi.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(schema_name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{schema_name}", **fragment()}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _fast_check(schema_name: str) -> Callable[[Any], Any]:
    """The same schema compiled by fastjsonschema: ~13x faster than jsonschema on a valid
    conversion (19 vs 240 us), and most bodies are valid. A body it refuses goes to jsonschema,
    which words the error. Its formats are jsonschema's own checkers, and for the keywords the
    request schemas use (tests/network/test_fast_validation.py holds them to that list) it never
    passes a body jsonschema would refuse. `use_default=False`: it must not fill in a body."""
    checker = Draft202012Validator.FORMAT_CHECKER
    formats = {name: (lambda value, name=name: checker.conforms(value, name))
               for name in checker.checkers}
    return fastjsonschema.compile(_validator(schema_name).schema, formats=formats,
                                  use_default=False)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# What `parse_json` returns for an empty body (distinct from a body reading `null`).
EMPTY = object()


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body strictly (no NaN/Infinity, UTF-8 only); an empty body is `EMPTY`.

    Whitespace alone is not a body but malformed JSON. Text with lone surrogates ("\ud800") is
    well-formed JSON that no UTF-8 store can keep: 422, as for other valid JSON we refuse."""
    if not raw:
        return EMPTY
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError("the body's text holds a lone UTF-16 surrogate, which is not Unicode "
                       "text", code="unencodable_text", status=422) from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            code="malformed_json",
        ) from None
    except UnicodeError:
        raise ApiError("the request body is not valid UTF-8 text", code="malformed_json") from None
    except ValueError as exc:
        raise ApiError(f"malformed JSON: {exc}", code="malformed_json") from None
    except RecursionError:
        raise ApiError("malformed JSON: nested too deeply", code="malformed_json") from None
    return data


def _describe(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _reason(err: ValidationError) -> tuple[str, str, list[str]]:
    """(code, message, extra path) for one schema violation."""
    kind, expected, instance = err.validator, err.validator_value, err.instance
    if kind == "required":
        missing = next(name for name in expected if name not in instance)
        return "missing_field", "required", [missing]
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed))[0]
        return (
            "unknown_field",
            f"unknown field; expected one of: {', '.join(allowed)}",
            [extra],
        )
    custom = err.schema.get("x-error") if isinstance(err.schema, dict) else None
    if custom:
        return "invalid", f"{custom}, got {instance!r}", []
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        return "invalid_type", f"expected {' or '.join(types)}, got {_describe(instance)}", []
    if kind == "enum":
        detail = "must be one of: " + ", ".join(map(str, expected))
    else:
        detail = {
            "minimum": f"must be >= {expected}",
            "maximum": f"must be <= {expected}",
            "exclusiveMinimum": f"must be > {expected}",
            "minLength": f"must be at least {expected} character(s) long",
            "maxLength": f"must be at most {expected} characters long",
            "minProperties": "must name at least one field",
        }.get(kind, err.message)
    if kind in ("minimum", "maximum", "exclusiveMinimum", "enum"):
        detail = f"{detail}, got {instance!r}"
    return "invalid", detail, []


def check(data: Any, schema_name: str) -> dict[str, Any]:
    """Validate a decoded body against a component schema; returns it as a dict."""
    if not isinstance(data, dict):
        raise ApiError(
            f"the request body must be a JSON object, got {_describe(data)}", code="invalid_body"
        )
    try:
        _fast_check(schema_name)(data)
        return data
    except fastjsonschema.JsonSchemaValueException:
        pass
    errors = list(_validator(schema_name).iter_errors(data))
    if not errors:
        return data
    # An unknown field is usually a misspelled one, so it explains a "missing" field too.
    unknown = [e for e in errors if e.validator == "additionalProperties"]
    err = best_match(unknown or errors)
    code, message, extra = _reason(err)
    path = [str(p) for p in err.absolute_path] + extra
    field = ".".join(path) or None
    raise ApiError(f"{field}: {message}" if field else message, code=code, field=field)


def json_body(schema_name: str, *, allow_empty: bool = False) -> dict[str, Any]:
    """The current request's JSON body, validated (an empty body is `{}` if allowed)."""
    data = parse_json(request.get_data(cache=False))
    if data is EMPTY:
        if not allow_empty:
            raise ApiError("a JSON object body is required", code="invalid_body")
        data = {}
    return check(data, schema_name)


# -- query strings -------------------------------------------------------------------------

Converter = Callable[[str, str], Any]


def integer(minimum: int = 0, maximum: int = 2**53) -> Converter:
    def convert(name: str, raw: str) -> int:
        if not DECIMAL.fullmatch(raw.strip()):
            raise ApiError(f"{name}: expected an integer, got {raw!r}", field=name)
        value = int(raw)
        if not minimum <= value <= maximum:
            raise ApiError(f"{name}: must be between {minimum} and {maximum}, got {value}",
                           field=name)
        return value

    return convert


def text(max_length: int = 1000) -> Converter:
    def convert(name: str, raw: str) -> str:
        if len(raw) > max_length:
            raise ApiError(f"{name}: must be at most {max_length} characters long", field=name)
        return raw

    return convert


def choice(*allowed: str) -> Converter:
    def convert(name: str, raw: str) -> str:
        if raw not in allowed:
            raise ApiError(f"{name}: must be one of: {', '.join(allowed)}, got {raw!r}",
                           field=name)
        return raw

    return convert


def boolean(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ApiError(f"{name}: expected true or false, got {raw!r}", field=name)


def moment(name: str, raw: str) -> datetime:
    return parse_moment(raw, name)


PAGINATION: dict[str, Converter] = {"limit": integer(1, 500), "offset": integer(0, 10**9)}
DEFAULT_LIMIT = 50


def query(args: Mapping[str, str], converters: Mapping[str, Converter]) -> dict[str, Any]:
    """Convert the known query parameters; an unknown one is an error naming it."""
    for name in args:
        if name not in converters:
            raise ApiError(
                f"{name}: unknown query parameter; expected one of: {', '.join(converters)}",
                code="unknown_field",
                field=name,
            )
    return {name: convert(name, args[name]) for name, convert in converters.items()
            if name in args}
