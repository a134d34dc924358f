"""ConversionUploadService.UploadClickConversions as Google Ads answers it over REST.

Request-level problems (auth, body shape, partialFailure, too many rows) fail the whole call with
the Google error model; row problems come back in a 200 as `partialFailureError` with `{}` in
`results` for each failed row [official: UploadClickConversionsResponse; platform-rules.md 4].
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from simulator.config import SimConfig
from simulator.platforms import google_ads_rows, google_errors, google_protojson
from simulator.platforms.google_answer import Outcome, read_object
from simulator.platforms.google_errors import ads_error
from simulator.platforms.intake import header
from simulator.store import Store

# "Upload fewer than 2001 events in a single request" [official: TOO_MANY_CONVERSIONS_IN_REQUEST].
MAX_CONVERSIONS = 2000
SCHEMA = "google_ads_upload.json"


def _header(headers: Mapping[str, str], name: str) -> str:
    return (header(headers, name) or "").strip()


def check_auth(headers: Mapping[str, str], version: str, req_id: str) -> Outcome | None:
    """OAuth bearer token first (401), then the developer token (400) [official: rest/auth]."""
    auth = _header(headers, "authorization")
    if not auth:
        return _request_failure(401, version, req_id, "authenticationError",
                                "AUTHENTICATION_ERROR", "Authentication of the request failed.")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _request_failure(401, version, req_id, "authenticationError",
                                "OAUTH_TOKEN_HEADER_INVALID",
                                "Oauth token HTTP header is malformed.")
    if not _header(headers, "developer-token"):
        return _request_failure(400, version, req_id, "requestError",
                                "DEVELOPER_TOKEN_PARAMETER_MISSING",
                                "The developer-token parameter is required for all requests.")
    return None


def _request_failure(
    status: int, version: str, req_id: str, kind: str, name: str, message: str,
    path: google_errors.FieldPath | None = None,
) -> Outcome:
    error = ads_error(kind, name, message, path)
    body = google_errors.ads_request_error(status, version, [error], req_id)
    where = google_errors.dotted(path) if path else None
    return Outcome(status, body, findings=[{"code": name, "field": where, "message": message}])


def open_request(
    headers: Mapping[str, str], version: str, customer_id: str, body_text: str, req_id: str
) -> Outcome | tuple[dict[str, Any], dict[str, Any]]:
    """Credentials, the customer ID and the JSON body every Google Ads upload checks first:
    the refusal, or the body as sent and in camelCase."""
    denied = check_auth(headers, version, req_id)
    if denied:
        return denied
    if customer_id.isdigit() and not google_protojson.fits_int64(customer_id):
        # Customer IDs are int64s: a larger one names no account [official: RequestErrorEnum].
        return _request_failure(400, version, req_id, "requestError", "INVALID_CUSTOMER_ID",
                                "Customer ID is invalid.", [("customer_id", None)])
    return read_object(body_text)


def required_rows(
    body: dict[str, Any], container: str, field_name: str, version: str, req_id: str
) -> Outcome | None:
    """The rows' list is present and non-empty, and partialFailure is true."""
    if not body.get(container):
        return _request_failure(400, version, req_id, "fieldError", "REQUIRED",
                                "The required field was not present.", [(field_name, None)])
    if body.get("partialFailure") is not True:
        # "partial_failure: Required ... This should always be set to true" [official:
        # UploadClickConversionsRequest]; PartialFailureErrorEnum.PARTIAL_FAILURE_MODE_REQUIRED.
        return _request_failure(400, version, req_id, "partialFailureError",
                                "PARTIAL_FAILURE_MODE_REQUIRED",
                                "The partial failure field was false in the request. This "
                                "method requires this field be set to true.",
                                [("partial_failure", None)])
    return None


def answer(
    version: str, req_id: str, errors: list[dict[str, Any]], results: list[dict[str, Any]],
    *, validate_only: bool,
) -> dict[str, Any]:
    """A partial-failure answer: the row errors, and the results unless validateOnly."""
    out: dict[str, Any] = {}
    if errors:
        out["partialFailureError"] = google_errors.ads_partial_failure(version, errors, req_id)
    if not validate_only:
        # "Results are not returned when validate_only is true" [official].
        out["results"] = results
        out["jobId"] = str(random.SystemRandom().randrange(1, 2**31))
    return out


def check_request(body: dict[str, Any], version: str, req_id: str) -> Outcome | None:
    """Whole-request rules, after the body parsed."""
    conversions = body.get("conversions") or []
    refused = required_rows(body, "conversions", "conversions", version, req_id)
    if refused:
        return refused
    if len(conversions) > MAX_CONVERSIONS:
        return _request_failure(400, version, req_id, "conversionUploadError",
                                "TOO_MANY_CONVERSIONS_IN_REQUEST",
                                "Upload fewer than 2001 events in a single request.",
                                [("conversions", None)])
    return None


def handle(
    store: Store,
    config: SimConfig,
    now: float,
    *,
    version: str,
    customer_id: str,
    headers: Mapping[str, str],
    body_text: str,
) -> Outcome:
    """Authenticate, parse, validate and answer one upload; nothing here touches Flask."""
    req_id = google_errors.request_id()
    read = open_request(headers, version, customer_id, body_text, req_id)
    if isinstance(read, Outcome):
        return read
    parsed, body = read
    violations = google_protojson.violations(SCHEMA, body)
    if violations:
        first = violations[0]
        return Outcome(400, google_errors.json_payload_error(first.field, first.description),
                       findings=[{"code": "INVALID_JSON", "field": first.field,
                                  "message": v.description} for v in violations])
    refused = check_request(body, version, req_id)
    if refused and len(body.get("conversions") or []) > MAX_CONVERSIONS:
        return refused
    raw_rows = parsed.get("conversions") or []
    rows = google_ads_rows.check_rows(
        raw_rows, body.get("conversions") or [], store, config, now=now, customer_id=customer_id
    )
    events = [google_ads_rows.normalized(r) for r in rows]
    if refused:
        # Journaled with their events (and what their rows would have met) for the rules.
        refused.events = events
        return refused
    validate_only = body.get("validateOnly") is True
    body_out = answer(version, req_id, [r.error for r in rows if r.error],
                      [google_ads_rows.result(r) for r in rows], validate_only=validate_only)
    return Outcome(200, body_out, events=events, accepted=not validate_only)
