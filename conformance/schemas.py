"""JSON Schema validation with one-line errors: `file: path.to.key: what is wrong`.

Profiles and scenarios are hand-written YAML; a person fixing one wants the file, the key path
and the problem on one line, not a schema dump.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from conformance.paths import schema_path


class SchemaError(ValueError):
    """A document does not match its schema; str() is the one-line reason."""


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for `fixtures/schemas/<name>.json` (read once per process)."""
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def key_path(parts: Iterable[Any]) -> str:
    """`platforms.meta.pixel_id`, `steps[2].click.subs` from a jsonschema path deque."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: ValidationError) -> tuple[list[Any], str]:
    path = list(error.absolute_path)
    if error.validator == "required":
        match = re.match(r"'(.+?)' is a required property", error.message)
        return [*path, match.group(1) if match else "?"], "required"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        if extra:
            return [*path, extra[0]], "unknown key"
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return path, f"must be one of {allowed}, got {error.instance!r}"
    if error.validator in ("minProperties", "maxProperties") and error.validator_value == 1:
        return path, "must hold exactly one step kind"
    return path, error.message


def check(document: Any, schema_name: str, source: str) -> None:
    """Raise SchemaError naming `source`, the key path and the problem of the first error."""
    errors = sorted(
        validator(schema_name).iter_errors(document),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]),
    )
    if not errors:
        return
    path, problem = _describe(errors[0])
    where = key_path(path)
    raise SchemaError(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")
