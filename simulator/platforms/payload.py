"""Decoding a mock's JSON body within bounds, so no body can crash the parser or what follows.

Every mock reads its body with `loads`; each platform turns a `PayloadError` into its own
answer (Meta's code 100, TikTok's 40002, Google's "Invalid JSON payload received").
"""

from __future__ import annotations

import json
import math
from typing import Any

# Nesting deeper than this is refused. Google's protobuf JSON parser stops at 100 levels
# [official: protobuf python json_format.Parse, "max_recursion_depth ... Default value is 100"];
# Meta and TikTok document no limit, so theirs is chosen to match [open: chosen].
MAX_DEPTH = 100


class PayloadError(ValueError):
    """Why a body is not acceptable JSON, with where the parser stopped when it knows."""

    def __init__(self, msg: str, lineno: int = 1, colno: int = 1) -> None:
        super().__init__(msg)
        self.msg = msg
        self.lineno = lineno
        self.colno = colno


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON [official: RFC 8259 section 6, "Numeric values that cannot
    # be represented in the grammar below (such as Infinity and NaN) are not permitted"].
    raise PayloadError(f"{name} is not a JSON value")


def _check(value: Any) -> None:
    """Refuse nesting past MAX_DEPTH and numbers no IEEE 754 double holds (e.g. 1e400).

    A number too large for a double is refused as I-JSON asks [official: RFC 7493 section 2.2,
    "MUST NOT include numbers that express greater magnitude or precision than an IEEE 754
    double"]; Google's parser refuses it too (protobuf.dev/programming-guides/json: a double
    field takes a JSON number or "NaN"/"Infinity" as strings). Integers keep their exact value:
    the platform's own checks judge a field's range.
    """
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PayloadError(f"nested deeper than {MAX_DEPTH} levels")
        for item in node.values() if type(node) is dict else node:
            kind = type(item)
            if kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is float and not math.isfinite(item):
                raise PayloadError("a number is out of the range of a double")


def loads(text: str | bytes) -> Any:
    """The decoded JSON value, or PayloadError (never RecursionError or a bare ValueError)."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise PayloadError(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise PayloadError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        # e.g. an integer past Python's 4300-digit conversion limit
        raise PayloadError(str(exc)) from None
    if isinstance(value, dict | list):
        _check(value)
    return value
