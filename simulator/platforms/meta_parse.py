"""Meta Conversions API request parsing and validation, with Meta's own error bodies.

Everything here follows platform-rules.md section 2; sources are cited next to each behaviour.
Pure functions over the request's parts: no Flask, so they test without an app.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from postback_sim_data import schema_path
from simulator.platforms import payload

SCHEMA_PATH = schema_path("meta_events")
# Constants built once at import: the schema never changes while the app runs. fastjsonschema
# (~30x cheaper per event) decides; jsonschema runs only on an invalid event, to build Meta's
# error message from its errors (docs/performance.md, Mock ingest).
EVENT_VALIDATOR = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
FAST_EVENT_CHECK = fastjsonschema.compile(EVENT_VALIDATOR.schema)

# "Up to 1,000 events per request" [official: conversions-api/using-the-api].
MAX_EVENTS = 1000
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def fbtrace_id() -> str:
    """An opaque trace id shaped like Meta's (11 base64url characters)."""
    return secrets.token_urlsafe(9)[:11]


@dataclass(eq=False)
class MetaError(Exception):
    """A rejection, carrying what Meta's Graph API error body holds."""

    status: int
    code: int
    message: str
    subcode: int | None = None
    user_title: str | None = None
    user_msg: str | None = None
    transient: bool | None = None

    def body(self, trace_id: str) -> dict[str, Any]:
        """`{"error": {...}}` as Graph API sends it [official: graph-api/guides/error-handling]."""
        err: dict[str, Any] = {"message": self.message, "type": "OAuthException",
                               "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.transient is not None:
            err["is_transient"] = self.transient
        if self.user_title is not None:
            err["error_user_title"] = self.user_title
        if self.user_msg is not None:
            err["error_user_msg"] = self.user_msg
        err["fbtrace_id"] = trace_id
        return {"error": err}


def invalid(user_title: str, user_msg: str, subcode: int | None = None) -> MetaError:
    """Code 100 "Invalid parameter", the CAPI answer for any bad event [3p: platform-rules §2]."""
    return MetaError(400, 100, "Invalid parameter", subcode=subcode, user_title=user_title,
                     user_msg=user_msg, transient=False)


def missing_token() -> MetaError:
    # Code 190 for a missing or bad token [official: graph-api/guides/error-handling].
    return MetaError(400, 190, "An access token is required to request this resource.")


def fault_error(status: int) -> MetaError:
    """The body Meta sends with an injected status (used for fault injection)."""
    if status == 429:
        # Throttling is code 17 (user) or 4 (app) [official: graph-api error handling].
        return MetaError(429, 17, "(#17) User request limit reached", transient=True)
    if status >= 500:
        # Code 2 "temporary issue due to downtime; wait and retry" [official: error handling].
        return MetaError(status, 2, "An unexpected error has occurred. Please retry your "
                         "request later.", transient=True)
    if status in (401, 403):
        return MetaError(status, 190, "Invalid OAuth access token - Cannot parse access token")
    return MetaError(status, 100, "Invalid parameter", transient=False)


def json_path(parts: list[str | int]) -> str:
    """`$['data'][0]['event_time']`, the path notation of Meta's messages [3p]."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in parts)


def dotted(parts: list[str | int]) -> str:
    """`data[0].user_data.fbc`, the journal's field notation (ARCHITECTURE.md)."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def params(query: dict[str, str], mimetype: str, body: str, form: dict[str, str]) -> dict[str, Any]:
    """All request parameters: query string plus body fields, body winning.

    Meta accepts JSON, form-encoded and multipart bodies, and the token in query or body
    [official: conversions-api/using-the-api].
    """
    merged: dict[str, Any] = dict(query)
    if mimetype in FORM_TYPES:
        merged.update(form)
    elif body.strip():
        try:
            decoded = payload.loads(body)
        except payload.PayloadError as exc:
            raise invalid("Invalid JSON", f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(decoded, dict):
            raise invalid("Invalid JSON", "The request body must be a JSON object.")
        merged.update(decoded)
    return merged


def access_token(values: dict[str, Any], authorization: str | None = None) -> str:
    """The token from the query or body, else an `Authorization: Bearer|OAuth` header, which
    Graph API also reads [official: graph-api/overview (access tokens)]."""
    token = values.get("access_token")
    if (not isinstance(token, str) or not token.strip()) and authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() in ("bearer", "oauth"):
            token = credentials
    if not isinstance(token, str) or not token.strip():
        raise missing_token()
    return token


def raw_items(values: dict[str, Any]) -> list[Any]:
    """The `data` array; form bodies carry it as JSON text [official: SDK `EventRequest`]."""
    data = values.get("data")
    if data is None or data == "":
        raise MetaError(400, 100, "(#100) The parameter data is required")
    if isinstance(data, str):
        try:
            data = payload.loads(data)
        except payload.PayloadError as exc:
            raise MetaError(400, 100, "(#100) param data must be an array.") from exc
    if not isinstance(data, list):
        raise MetaError(400, 100, "(#100) param data must be an array.")
    if not data:
        raise MetaError(400, 100, "(#100) The parameter data is required")
    if len(data) > MAX_EVENTS:
        # No documented body for this case: chosen to mirror the other parameter errors.
        raise invalid("Too Many Events",
                      f"A request may hold at most {MAX_EVENTS} events; this one holds "
                      f"{len(data)}.")
    return data


def decode_item(item: Any) -> Any:
    """An event as an object; the SDK posts each one as a JSON string [official: SDK source]."""
    if isinstance(item, str):
        try:
            return payload.loads(item)
        except payload.PayloadError:
            return item
    return item


def _required_error(err: ValidationError, prefix: list[str | int]) -> MetaError:
    present = err.instance if isinstance(err.instance, dict) else {}
    missing = next(name for name in err.validator_value if name not in present)
    path = json_path([*prefix, *err.absolute_path, missing])
    # Missing required parameter: code 100, subcode 2804019, naming the path [3p].
    return invalid("Server Side Api Parameter Error", f"The parameter {path} is required.",
                   subcode=2804019)


def _rank(err: ValidationError) -> tuple[int, int, list[str]]:
    return (0 if err.validator == "required" else 1, len(err.absolute_path),
            [str(p) for p in err.absolute_path])


def check_event(event: Any, index: int) -> None:
    """Raise the MetaError Meta would send for this event, or return when it is valid."""
    prefix: list[str | int] = ["data", index]
    if not isinstance(event, dict):
        raise invalid("Invalid parameter",
                      f"The parameter {json_path(prefix)} must be a JSON object.")
    try:
        FAST_EVENT_CHECK(event)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    errors = sorted(EVENT_VALIDATOR.iter_errors(event), key=_rank)
    if not errors:
        return
    err = errors[0]
    if err.validator == "required":
        raise _required_error(err, prefix)
    path = json_path([*prefix, *err.absolute_path])
    if err.validator == "minProperties" and list(err.absolute_path) == ["user_data"]:
        # "At least one user_data parameter is required" [official: customer-information].
        raise invalid("Missing User Data",
                      f"The parameter {path} must hold at least one customer information "
                      "parameter.")
    raise invalid("Invalid parameter", f"The parameter {path} is invalid: {err.message}.")


def check_age(event: dict[str, Any], now: float, max_age_days: float) -> None:
    """event_time more than 7 days old rejects the request [official rule; body 3p]."""
    event_time = event.get("event_time")
    if isinstance(event_time, int) and event_time < now - max_age_days * 86400:
        raise invalid(
            "Event Timestamp Too Old",
            "The timestamp for this event is too far in the past. Events need to be sent "
            f"from your server within {max_age_days:g} days of when they occurred. Enter a "
            f"timestamp that has occurred within the last {max_age_days:g} days.",
            subcode=2804003,
        )


def validate(events: list[Any], now: float, max_age_days: float) -> None:
    """One invalid event rejects the whole request [official: using-the-api]."""
    for index, event in enumerate(events):
        check_event(event, index)
        check_age(event, now, max_age_days)
