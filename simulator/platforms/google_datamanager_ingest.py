"""IngestionService.IngestEvents as Google Data Manager answers it over REST.

The whole request is validated before anything is ingested: one invalid event rejects it all,
with the Google error model carrying an `ErrorReason`; success is `{"requestId": ...}`
[official: ingestion_service.proto, error.proto; platform-rules.md section 5]. Attribution
problems are not errors here (Data Manager matches clicks later): they become findings, which
`diagnose` works out after the answer (the analyser's recipe `datamanager`), as Google does.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from typing import Any

from simulator.config import SimConfig
from simulator.platforms import attribution, google_errors, google_protojson
from simulator.platforms.google_answer import Outcome, read_object
from simulator.platforms.google_errors import field_violation
from simulator.platforms.intake import header
from simulator.platforms.journal import EventKey
from simulator.store import Row, Store

SCHEMA = "datamanager_ingest.json"
# Enum numbers from google.ads.datamanager_v1.types (ingestion_service.Encoding).
ENCODING_NAMES = {0: "ENCODING_UNSPECIFIED", 1: "HEX", 2: "BASE64"}
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
CLICK_KINDS = ("gclid", "gbraid", "wbraid")
# The same diagnostics Google Ads reports for an unattributable click (conversion_upload_error).
ATTRIBUTION_FINDINGS = {
    "unknown": "EVENT_NOT_FOUND",
    "modified": "EVENT_NOT_FOUND",
    "expired": "EXPIRED_EVENT",
    "precedes": "CONVERSION_PRECEDES_EVENT",
}
METHOD = google_errors.DATAMANAGER_METHOD
# The analyser's recipe name for an ingest request (platforms.analyser.RECIPES).
RECIPE = "datamanager"


def _header(headers: Mapping[str, str], name: str) -> str:
    return (header(headers, name) or "").strip()


def encoding_of(body: dict[str, Any]) -> str:
    value = body.get("encoding", "ENCODING_UNSPECIFIED")
    return ENCODING_NAMES.get(value, "ENCODING_UNSPECIFIED") if isinstance(value, int) else value


def _hash_violation(field: str, value: str, encoding: str) -> dict | None:
    """A hashed identifier must be a SHA-256 digest in the request's encoding."""
    if encoding == "HEX":
        if HEX_SHA256.fullmatch(value):
            return None
        return field_violation(field, "INVALID_HEX_ENCODING", "The HEX encoded value is malformed.")
    try:
        digest = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return field_violation(field, "INVALID_BASE64_ENCODING",
                               "The base64 encoded value is malformed.")
    if len(digest) != 32:
        return field_violation(field, "INVALID_SHA256_FORMAT",
                               "The SHA256 encoded value is malformed.")
    return None


def _user_data_violations(prefix: str, user_data: dict[str, Any], encoding: str) -> list[dict]:
    out = []
    for j, ident in enumerate(user_data.get("userIdentifiers") or []):
        where = f"{prefix}.user_identifiers[{j}]"
        hashed = {"email_address": ident.get("emailAddress"),
                  "phone_number": ident.get("phoneNumber")}
        address = ident.get("address") or {}
        hashed |= {"address.given_name": address.get("givenName"),
                   "address.family_name": address.get("familyName")}
        for name, value in hashed.items():
            if isinstance(value, str) and (bad := _hash_violation(f"{where}.{name}", value,
                                                                    encoding)):
                out.append(bad)
    return out


def semantic_violations(body: dict[str, Any]) -> list[dict]:
    """Rules the schema cannot say: encoding with user data, hashes in that encoding,
    an account type per account, an identifier per event."""
    out: list[dict] = []
    encoding = encoding_of(body)
    for i, dest in enumerate(body["destinations"]):
        account = dest.get("operatingAccount") or {}
        if not account.get("accountType") and not account.get("product"):
            out.append(field_violation(f"destinations[{i}].operating_account.account_type",
                                       "REQUIRED_FIELD_MISSING", "Required field is missing."))
    has_user_data = any(e.get("userData") or e.get("thirdPartyUserData") for e in body["events"])
    if has_user_data and encoding == "ENCODING_UNSPECIFIED":
        # "encoding: Optional. Required for UserData uploads" [official: IngestEventsRequest].
        out.append(field_violation("encoding", "REQUIRED_FIELD_MISSING",
                                   "Encoding is required when user data is present."))
    for i, event in enumerate(body["events"]):
        prefix = f"events[{i}]"
        ids = event.get("adIdentifiers") or {}
        if not any(ids.get(k) for k in CLICK_KINDS) and not event.get("userData"):
            out.append(field_violation(prefix, "NO_IDENTIFIERS_PROVIDED",
                                       "No identifiers provided."))
        if encoding != "ENCODING_UNSPECIFIED":
            for key, name in (("userData", "user_data"), ("thirdPartyUserData",
                                                          "third_party_user_data")):
                if event.get(key):
                    out += _user_data_violations(f"{prefix}.{name}", event[key], encoding)
    return out


def _click(event: dict[str, Any]) -> tuple[str | None, str | None]:
    ids = event.get("adIdentifiers") or {}
    kind = next((k for k in CLICK_KINDS if ids.get(k)), None)
    return kind, ids.get(kind) if kind else None


def normalized(
    index: int, raw: Any, event: dict[str, Any], body: dict[str, Any], store: Store,
    config: SimConfig, issued: Mapping[str, attribution.IssuedClicks] | None = None,
) -> dict[str, Any]:
    """One event as a journal NormalizedEvent (ARCHITECTURE.md "Mock platforms")."""
    prefix = f"events[{index}]"
    stamp = event.get("eventTimestamp")
    try:
        event_time = google_protojson.parse_timestamp(stamp) if stamp else None
    except ValueError:
        event_time = None
    kind, value = _click(event)
    outcome = attribution.attribute(store, kind or "gclid", value, event_ts=event_time,
                                    window_days=config.google_click_window_days,
                                    issued=(issued or {}).get(kind or "gclid"))
    findings = []
    if outcome["status"] in ATTRIBUTION_FINDINGS:
        findings.append({"code": ATTRIBUTION_FINDINGS[outcome["status"]],
                         "field": f"{prefix}.adIdentifiers.{kind}", "message": outcome["detail"]})
    device = event.get("eventDeviceInfo") or {}
    return {
        "index": index,
        "event_name": _event_name(event, body),
        "event_time": event_time,
        "event_id": event.get("transactionId"),
        "value": _number(event.get("conversionValue")),
        "currency": event.get("currency"),
        "click_id": {"kind": kind, "value": value,
                     "field": f"{prefix}.adIdentifiers.{kind}"} if kind else None,
        "user": {"ip": device.get("ipAddress"), "user_agent": device.get("userAgent")},
        "raw": raw,
        "field_prefix": prefix,
        "attribution": outcome,
        "findings": findings,
    }


def _event_name(event: dict[str, Any], body: dict[str, Any]) -> Any:
    destinations = body.get("destinations") or [{}]
    return event.get("eventName") or destinations[0].get("productDestinationId")


def dedup_keys(body: dict[str, Any]) -> list[EventKey]:
    """The events' (event_name, transactionId) keys, indexed as the request is journaled, so a
    later entry's dedup never depends on when this one is diagnosed."""
    return [(i, name if isinstance(name := _event_name(ev, body), str) else None,
             ev["transactionId"], f"events[{i}]")
            for i, ev in enumerate(body.get("events") or [])
            if isinstance(ev, dict) and isinstance(ev.get("transactionId"), str)]


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def handle(*, headers: Mapping[str, str], body_text: str) -> Outcome:
    """Authenticate, parse, validate the whole request, answer; nothing here touches Flask or
    the store (the answer needs no attribution: `diagnose` does it later)."""
    auth = _header(headers, "authorization")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        return Outcome(401, google_errors.credentials_missing(google_errors.DATAMANAGER_DOMAIN,
                                                             METHOD),
                       findings=[{"code": "CREDENTIALS_MISSING", "field": None,
                                  "message": "no Authorization: Bearer header"}])
    read = read_object(body_text)
    if isinstance(read, Outcome):
        return read
    _, body = read
    found = google_protojson.violations(SCHEMA, body)
    unparsed = [v for v in found if v.reason is None]
    if unparsed:
        return Outcome(400, google_errors.json_payload_error(unparsed[0].field,
                                                             unparsed[0].description),
                       findings=[{"code": "INVALID_JSON", "field": v.field,
                                  "message": v.description} for v in unparsed])
    violations = [field_violation(v.field, v.reason or "INVALID_ARGUMENT", v.description)
                  for v in found]
    if not violations:
        violations = semantic_violations(body)
    if violations:
        return Outcome(400, google_errors.datamanager_error(400, violations), recipe=RECIPE,
                       findings=[{"code": v["reason"], "field": v["field"],
                                  "message": v["description"]} for v in violations])
    validate_only = body.get("validateOnly") is True
    return Outcome(200, {"requestId": str(uuid.uuid4())}, accepted=not validate_only,
                   recipe=RECIPE, keys=dedup_keys(body))


def diagnose(store: Store, config: SimConfig, row: Row) -> tuple[list[Any], list[Any]]:
    """The journal entry's NormalizedEvents, attributed with one lookup per click kind; their
    findings stay on the events (the entry's own findings are the answer's, already journaled).

    Only entries `handle` gave the recipe come here: their body is a JSON object that parsed.
    """
    read = read_object(row["body"])
    if isinstance(read, Outcome):
        return [], []
    parsed, body = read
    events = [ev if isinstance(ev, dict) else {} for ev in body.get("events") or []]
    issued = attribution.issued_by_kind(store, map(_click, events))
    return [normalized(i, raw, ev, body, store, config, issued)
            for i, (raw, ev) in enumerate(zip(parsed.get("events") or [], events, strict=True))
            ], []
