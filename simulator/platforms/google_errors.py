"""The Google error model both Google mocks answer with, and Google Ads' GoogleAdsFailure inside it.

REST errors from Google APIs are `{"error": {"code", "message", "status", "details"}}`
[official: cloud.google.com/apis/design/errors]. Google Ads puts a `GoogleAdsFailure` in the
details, each error naming its enum (`{"errorCode": {"conversionUploadError": "..."}}`) and its
field path [official: developers.google.com/google-ads/api/docs/best-practices/partial-failures];
Data Manager puts `google.rpc.ErrorInfo` (reason = an `ErrorReason`) and `google.rpc.BadRequest`
[official: developers.google.com/data-manager/api/devguides/concepts/understand-errors].
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

STATUS_BY_CODE = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
# google.rpc.Code numbers, used where a Status travels inside a 200 (partialFailureError).
RPC_CODE_INVALID_ARGUMENT = 3

MESSAGE_BY_STATUS = {
    "INVALID_ARGUMENT": "Request contains an invalid argument.",
    "UNAUTHENTICATED": (
        "Request is missing required authentication credential. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."
    ),
    "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota).",
    "INTERNAL": "Internal error encountered.",
    "UNAVAILABLE": "The service is currently unavailable.",
    "DEADLINE_EXCEEDED": "The request timed out.",
}

# A field path: ("conversions", 0), ("gclid", None) -> conversions[0].gclid
FieldPath = Sequence[tuple[str, int | None]]


def request_id() -> str:
    """An opaque request id like the ones Google returns (22 base64url characters)."""
    return secrets.token_urlsafe(16)[:22]


def status_name(code: int) -> str:
    return STATUS_BY_CODE.get(code, "UNKNOWN")


def rpc_error(code: int, message: str | None = None, details: list[Any] | None = None) -> dict:
    """`{"error": {...}}` for an HTTP status, the canonical status name and optional details."""
    status = status_name(code)
    err: dict[str, Any] = {
        "code": code,
        "message": message or MESSAGE_BY_STATUS.get(status, "Request failed."),
        "status": status,
    }
    if details:
        err["details"] = details
    return {"error": err}


def fault_body(status: int, retry_after: float | None) -> dict:
    """The body an injected 429/500/503 carries: what Google's front end sends for them."""
    del retry_after  # carried by the Retry-After header, not the body
    return rpc_error(status)


def dotted(path: FieldPath) -> str:
    """("conversions", 0), ("gclid", None) -> "conversions[0].gclid"."""
    return ".".join(name if index is None else f"{name}[{index}]" for name, index in path)


# -- Google Ads -----------------------------------------------------------------------------------


def ads_error(kind: str, name: str, message: str, path: FieldPath | None = None) -> dict:
    """One GoogleAdsError; `kind` is the errorCode oneof (conversionUploadError, ...)."""
    err: dict[str, Any] = {"errorCode": {kind: name}, "message": message}
    if path:
        err["location"] = {"fieldPathElements": [
            {"fieldName": field} if index is None else {"fieldName": field, "index": index}
            for field, index in path
        ]}
    return err


def ads_failure(version: str, errors: list[dict], req_id: str) -> dict:
    return {
        "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure",
        "errors": errors,
        "requestId": req_id,
    }


def ads_request_error(code: int, version: str, errors: list[dict], req_id: str) -> dict:
    """A request-level Google Ads error: nothing in the request was processed."""
    return rpc_error(code, None, [ads_failure(version, errors, req_id)])


def ads_partial_failure(version: str, errors: list[dict], req_id: str) -> dict:
    """`partialFailureError`: a google.rpc.Status with code 3 whose message names the first error
    and where it is, as the API phrases it ("..., at conversions[0].gclid")."""
    first = errors[0]
    where = first.get("location", {}).get("fieldPathElements", [])
    at = dotted([(e["fieldName"], e.get("index")) for e in where])
    message = f"{first['message']}, at {at}" if at else first["message"]
    if len(errors) > 1:
        message = f"Multiple errors in 'details'. First error: {message}"
    return {"code": RPC_CODE_INVALID_ARGUMENT, "message": message,
            "details": [ads_failure(version, errors, req_id)]}


# -- Data Manager ---------------------------------------------------------------------------------

DATAMANAGER_DOMAIN = "datamanager.googleapis.com"
DATAMANAGER_METHOD = "google.ads.datamanager.v1.IngestionService.IngestEvents"


def field_violation(field: str, reason: str, description: str) -> dict:
    return {"field": field, "description": description, "reason": reason}


def datamanager_error(code: int, violations: list[dict], message: str | None = None) -> dict:
    """A Data Manager rejection: ErrorInfo with the first violation's ErrorReason, then BadRequest
    listing every violated field."""
    reason = violations[0]["reason"] if violations else "INVALID_ARGUMENT"
    details: list[Any] = [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": DATAMANAGER_DOMAIN,
        "metadata": {"method": DATAMANAGER_METHOD, "service": DATAMANAGER_DOMAIN},
    }]
    if violations:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": violations})
    if message is None and violations:
        message = violations[0]["description"]
    return rpc_error(code, message, details)


def credentials_missing(domain_service: str, method: str) -> dict:
    """Google's front end's 401 for a call without an OAuth token (standard ErrorInfo reason
    CREDENTIALS_MISSING, domain googleapis.com) [official: cloud.google.com/apis/design/errors]."""
    return rpc_error(401, None, [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "CREDENTIALS_MISSING",
        "domain": "googleapis.com",
        "metadata": {"method": method, "service": domain_service},
    }])


def json_payload_error(field: str, description: str) -> dict:
    """A body the protobuf JSON parser refuses: unknown name, wrong type, not JSON at all."""
    message = f"Invalid JSON payload received. {description}"
    return rpc_error(400, message, [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": field, "description": message}] if field else
        [{"description": message}],
    }])
