"""Postback macros: the catalogue, template validation, and expansion (pure functions).

The catalogue and its descriptions are the partner network's own (seed document, "Available
Macros"). Values are URL-encoded when substituted and an empty Sub ID becomes an empty string, as
real networks do (platform-rules.md section 1). Other networks' dialects (macro syntax and names,
raw values, statuses) come from their persona (`simulator.personas`); every function here takes
an optional `persona` and, without one, speaks the seed's network exactly as before.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from simulator import personas
from simulator.clock import parse_iso
from simulator.personas import Persona


@dataclass(frozen=True)
class Macro:
    """One `{name}` placeholder and what the network says it returns."""

    name: str
    description: str

    @property
    def placeholder(self) -> str:
        return "{" + self.name + "}"


# The seed network's catalogue: fixtures/networks/inflektion.yaml, the default persona.
MACROS: tuple[Macro, ...] = tuple(
    Macro(m.name, m.description) for m in personas.get(personas.DEFAULT).macros
)
MACRO_NAMES: tuple[str, ...] = tuple(m.name for m in MACROS)
SUB_IDS: tuple[str, ...] = ("sub1", "sub2", "sub3", "sub4", "sub5")

# Media types of POST postback bodies, by the postbacks table's `body_format`.
BODY_CONTENT_TYPES: Mapping[str, str] = {
    "form": "application/x-www-form-urlencoded",
    "json": "application/json",
}

# Money never needs more than 4 decimals (ISO 4217 minor units are at most 3); rounding there
# removes binary float noise such as 0.1 + 0.2 = 0.30000000000000004.
PAYOUT_DECIMALS = 4

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Problem:
    """One finding about a template; `position` is a 0-based index into it, or None."""

    code: str
    message: str
    position: int | None = None


@dataclass
class ValidationResult:
    """Errors block saving a template; warnings are advice (e.g. prefer HTTPS)."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": [asdict(p) for p in self.errors],
            "warnings": [asdict(p) for p in self.warnings],
        }


def validate_template(url: str, persona: Persona | None = None) -> ValidationResult:
    """Check a postback URL template as the partner dashboard does when it is saved."""
    persona = persona or personas.get(None)
    result = ValidationResult()
    if not re.match(r"https?://", url, re.IGNORECASE):
        result.errors.append(
            Problem("invalid_scheme", "the postback URL must start with http:// or https://", 0)
        )
    elif url[:7].lower() == "http://":
        result.warnings.append(
            Problem("insecure_scheme", "use an HTTPS endpoint (the network recommends HTTPS)", 0)
        )
    if persona.syntax == "brace":
        spans = _check_braces(url, result.errors)
    else:
        spans = [(m.start(), m.end() - 1) for m in persona.pattern.finditer(url)]
    names = [_check_macro(url, start, end, result, persona) for start, end in spans]
    _check_characters(url, result.errors)
    if not any(p.code == "invalid_scheme" for p in result.errors):
        _check_parse(url, spans, result.errors)
    _advise(url, spans, [n for n in names if n], result.warnings, persona)
    return result


def _check_braces(url: str, errors: list[Problem]) -> list[tuple[int, int]]:
    """Spans (start, end inclusive) of well-formed `{...}` groups; brace mistakes go to errors."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for i, char in enumerate(url):
        if char == "{":
            if open_at is not None:
                errors.append(
                    Problem(
                        "nested_brace",
                        f"'{{' at position {i} opens a macro inside the one opened at "
                        f"position {open_at}; macros cannot be nested",
                        i,
                    )
                )
            open_at = i
        elif char == "}":
            if open_at is None:
                errors.append(
                    Problem("unmatched_brace", f"'}}' at position {i} closes no macro", i)
                )
            else:
                spans.append((open_at, i))
                open_at = None
    if open_at is not None:
        errors.append(
            Problem("unclosed_brace", f"'{{' at position {open_at} is never closed", open_at)
        )
    return spans


def _check_macro(
    url: str, start: int, end: int, result: ValidationResult, persona: Persona
) -> str | None:
    """The simulator value a macro returns, or None (an error, or a warning when the persona
    sends unknown macros literally)."""
    name = url[start + 1 : end]
    found = persona.lookup(name)
    if found is not None:
        return found[0].value
    if not name.strip():
        result.errors.append(
            Problem("empty_macro", f"empty macro '{{}}' at position {start}", start)
        )
        return None
    message = f"unknown macro {persona.placeholder(name)} at position {start}"
    by_lower = {n.lower(): n for n in persona.names}
    guess = difflib.get_close_matches(name.strip().lower(), list(by_lower), n=1, cutoff=0.6)
    if guess:
        message += f": did you mean {persona.placeholder(by_lower[guess[0]])}?"
        if persona.case_sensitive and guess[0] == name.strip().lower():
            message += " (macros are case-sensitive)"
    if persona.unknown_macros == "reject":
        result.errors.append(Problem("unknown_macro", message, start))
    else:
        message += f"; {persona.title} sends it literally"
        result.warnings.append(Problem("unknown_macro", message, start))
    return None


def _check_characters(url: str, errors: list[Problem]) -> None:
    # http.client refuses these in a request line, so every delivery would fail.
    for i, char in enumerate(url):
        if char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F:
            errors.append(
                Problem(
                    "invalid_character",
                    f"{char!r} at position {i} is not allowed in a URL; encode it (e.g. %20)",
                    i,
                )
            )
            return


def _check_parse(url: str, spans: list[tuple[int, int]], errors: list[Problem]) -> None:
    # Macros may sit anywhere (even in the host), so parse with each replaced by a plain token.
    chars = list(url)
    for start, end in reversed(spans):
        chars[start : end + 1] = "x"
    sample = "".join(chars)
    try:
        parts = urlsplit(sample)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        errors.append(Problem("unparseable_url", f"the URL does not parse: {exc}", None))
        return
    if not parts.hostname:
        errors.append(Problem("missing_host", "the URL has no host name", None))


def _advise(
    url: str, spans: list[tuple[int, int]], names: list[str], warnings: list[Problem],
    persona: Persona,
) -> None:
    inside = {i for start, end in spans for i in range(start, end + 1)}
    hash_at = next((i for i, c in enumerate(url) if c == "#" and i not in inside), -1)
    if hash_at >= 0:
        warnings.append(
            Problem(
                "fragment_not_sent",
                f"everything after '#' (position {hash_at}) stays in the browser and is never "
                "sent to the receiver",
                hash_at,
            )
        )
    if not any(n in SUB_IDS for n in names):
        subs = [m.name for m in persona.macros if m.value in SUB_IDS] or list(SUB_IDS)
        warnings.append(
            Problem(
                "no_sub_id",
                f"no Sub ID macro ({persona.placeholder(subs[0])}..{persona.placeholder(subs[-1])})"
                ": the receiver cannot match the conversion to its click ID",
                None,
            )
        )


def macro_values(
    conversion: Mapping[str, Any],
    click: Mapping[str, Any],
    offer: Mapping[str, Any] | None = None,
    persona: Persona | None = None,
) -> dict[str, str]:
    """Every macro's value (unencoded text) for one conversion or post-conversion event; with a
    persona, every simulator value its macros may name (status in its words, Sub IDs past its
    limits spilled over)."""
    ts = _event_seconds(conversion)
    currency = conversion.get("currency") or (offer or {}).get("currency") or ""
    values = {
        **{sub: str(click.get(sub) or "") for sub in SUB_IDS},
        "offer_currency": str(currency),
        "payout_amount": format_payout(conversion.get("payout", 0)),
        "conversion_id": str(conversion.get("conversion_id") or ""),
        "unique_click_id": str(click.get("unique_click_id") or ""),
        "timestamp": str(ts),
        "datetime": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "geo_country_code": str(click.get("country") or ""),
        "user_ip": str(conversion.get("ip") or ""),
        "user_agent": str(conversion.get("user_agent") or ""),
    }
    if persona is not None:
        values["status"] = persona.status_text(str(conversion.get("status") or "approved"))
        values["offer_id"] = str((offer or {}).get("id") or click.get("offer_id") or "")
        values["event_name"] = str(conversion.get("event_name") or "")
        _spill(values, persona.sub_limits)
    return values


def _spill(values: dict[str, str], limits: Mapping[str, int]) -> None:
    """CAKE: a Sub ID past its limit spills its rest over into the next Sub ID (replacing it;
    the last one is cut)."""
    for index, sub in enumerate(SUB_IDS):
        limit = limits.get(sub)
        if limit and len(values[sub]) > limit:
            values[sub], rest = values[sub][:limit], values[sub][limit:]
            if index + 1 < len(SUB_IDS):
                values[SUB_IDS[index + 1]] = rest


def _event_seconds(conversion: Mapping[str, Any]) -> int:
    if conversion.get("ts") is not None:
        return math.floor(float(conversion["ts"]))
    return math.floor(parse_iso(str(conversion["created_at"])).timestamp())


def format_payout(amount: float | int | str | Decimal | None) -> str:
    """Plain decimal text, rounded to 4 places, no trailing zeros: 10.0 -> "10", 12.5 -> "12.5"."""
    value = Decimal(str(amount if amount is not None else 0))
    value = value.quantize(Decimal(1).scaleb(-PAYOUT_DECIMALS), rounding=ROUND_HALF_EVEN)
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# What a raw value keeps as is: everything an HTTP request line can carry except '#', which
# would end the URL (a raw '&' or '=' still breaks the query, as it does on such networks).
_RAW_SAFE = "!$&'()*+,/:;=?@[]~%"


def expand(template: str, values: Mapping[str, str], persona: Persona | None = None) -> str:
    """Substitute `{name}` with its URL-encoded value; unknown macros stay as they are.

    With a persona, its syntax and names apply, `values` is keyed by simulator value (as
    `macro_values(..., persona=)` returns it) and raw macros are substituted unencoded.
    """
    if persona is not None:
        return _expand_persona(template, values, persona)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return quote(str(values[name]), safe="")

    return _PLACEHOLDER.sub(substitute, template)


def _expand_persona(template: str, values: Mapping[str, str], persona: Persona) -> str:
    def substitute(match: re.Match[str]) -> str:
        found = persona.lookup(match.group(1))
        if found is None:
            return match.group(0)
        macro, raw = found
        return quote(str(values.get(macro.value, "")), safe=_RAW_SAFE if raw else "")

    return persona.pattern.sub(substitute, template)


def expand_body(values: Mapping[str, str], fmt: str, persona: Persona | None = None) -> str:
    """A POST postback body carrying every macro by name, in catalogue order.

    `form` is `application/x-www-form-urlencoded` (key=value&...); `json` is one flat object of
    strings, the same text the URL would carry, so a receiver reads both forms alike. With a
    persona, the keys are its macro names and `values` is keyed by simulator value.
    """
    if persona is None:
        ordered = {name: str(values.get(name, "")) for name in MACRO_NAMES}
    else:
        ordered = {m.name: str(values.get(m.value, "")) for m in persona.macros}
    if fmt == "form":
        return urlencode(ordered)
    if fmt == "json":
        return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
    raise ValueError(f"unknown body format {fmt!r}; expected one of: form, json")


def body_content_type(fmt: str) -> str:
    """The Content-Type header for a body built by `expand_body`."""
    try:
        return BODY_CONTENT_TYPES[fmt]
    except KeyError:
        raise ValueError(f"unknown body format {fmt!r}; expected one of: form, json") from None
