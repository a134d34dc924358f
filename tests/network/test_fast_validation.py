"""The API's fast schema check may refuse more than jsonschema (jsonschema then words the
error) but must never pass a body jsonschema refuses: hostile bodies of every request schema."""

from __future__ import annotations

import contextlib
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.network import validation

SCHEMAS = ["OfferCreate", "OfferUpdate", "PostbackCreate", "PostbackUpdate", "PostbackValidate",
           "PostbackTest", "LinkCreate", "ClickCreate", "ConversionCreate", "ConversionUpdate"]
TRICKY = ["", " ", "USD\n", "usd", "1.2.3.4", "1.2.3.04", "::1", "fe80::1%eth0", "256.0.0.1",
          "2026-10-01T12:00:00Z", "2026-10-01T12:00:00", "2026-10-01 12:00:00Z",
          "2026-02-30T00:00:00Z", "approved", "pending", "event", "conversion", "POST", "json",
          "x" * 65, "x" * 2001, "https://example.com/pb?c={sub1}", "\u00e9", "\U0001f600"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.sampled_from([0, 1, 1.0, -0.0]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(TRICKY),
    st.text(max_size=70))
VALUES = st.sampled_from(TRICKY) | st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["a", "sub1", "url"]), inner, max_size=3),
                      max_leaves=6)


# Keywords whose meaning fastjsonschema (draft-07 rules) and jsonschema (2020-12) share; a new
# one in a request schema must be checked against both before it joins this list.
SHARED_KEYWORDS = {"type", "properties", "additionalProperties", "required", "items", "enum",
                   "minimum", "maximum", "minLength", "maxLength", "pattern", "format",
                   "anyOf", "minProperties", "$ref"}
ANNOTATIONS = {"description", "examples", "x-error", "title"}


def properties(name: str) -> list[str]:
    schema = validation.fragment()["components"]["schemas"][name]
    return [*schema.get("properties", {}), "unknown_field"]


def fast_passes(name: str, body: Any) -> bool:
    try:
        validation._fast_check(name)(body)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@pytest.mark.parametrize("name", SCHEMAS)
@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(data=st.data())
def test_a_body_the_fast_check_passes_is_one_jsonschema_passes(name: str, data: st.DataObject):
    # Mostly one or two fields, so a single wrong value is not hidden behind another's error.
    size = data.draw(st.sampled_from([1, 1, 2, 5]))
    body = data.draw(st.dictionaries(st.sampled_from(properties(name)), VALUES, max_size=size))
    if fast_passes(name, body):
        assert not list(validation._validator(name).iter_errors(body)), body


def schema_nodes(node: Any) -> list[dict]:
    if isinstance(node, list):
        return [n for item in node for n in schema_nodes(item)]
    if not isinstance(node, dict):
        return []
    children = [*node.get("properties", {}).values(), node.get("items"),
                node.get("additionalProperties"), *node.get("anyOf", [])]
    return [node, *(n for child in children for n in schema_nodes(child))]


@pytest.mark.parametrize("name", sorted(validation.fragment()["components"]["schemas"]))
def test_schemas_use_only_keywords_both_validators_read_alike(name: str):
    for node in schema_nodes(validation.fragment()["components"]["schemas"][name]):
        assert set(node) <= SHARED_KEYWORDS | ANNOTATIONS, (name, node)
        # draft-07 (fastjsonschema) ignores a $ref's siblings; 2020-12 (jsonschema) applies them
        assert "$ref" not in node or set(node) <= {"$ref"} | ANNOTATIONS, (name, node)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_request_schema_compiles_and_leaves_the_body_as_sent(name: str):
    body: dict[str, Any] = {}
    # A schema with required fields refuses {}; compiling, and not filling in, is what counts.
    with contextlib.suppress(fastjsonschema.JsonSchemaValueException):
        validation._fast_check(name)(body)
    assert body == {}


def test_the_fast_check_passes_an_ordinary_conversion():
    body = {"click": "abc123", "payout": 12.5, "currency": "EUR", "status": "approved",
            "ip": "203.0.113.9", "at": "2026-10-01T12:00:00Z"}
    assert fast_passes("ConversionCreate", body)
    assert validation.check(body, "ConversionCreate") == body
