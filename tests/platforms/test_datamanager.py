"""The Data Manager events:ingest mock over raw HTTP: fail-fast validation, errors, journal (§5)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from simulator.platforms import faults, journal

URL = "/datamanager/v1/events:ingest"
AUTH = {"Authorization": "Bearer ya29.test-token"}
EMAIL_SHA256 = hashlib.sha256(b"john_smith@gmail.com").hexdigest()


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(services, gclid: str, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "transactionId": "conv-1",
        "eventTimestamp": rfc3339(services.clock.now() - timedelta(minutes=5)),
        "adIdentifiers": {"gclid": gclid},
        "conversionValue": 12.5,
        "currency": "USD",
        "eventSource": "WEB",
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def body(events: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "destinations": [{"operatingAccount": {"accountType": "GOOGLE_ADS",
                                               "accountId": "1234567890"},
                          "productDestinationId": "987654321"}],
        "events": events,
    }
    out.update(changes)
    return out


def ingest(client, payload: dict[str, Any], headers: dict[str, str] | None = None):
    return client.post(URL, json=payload, headers=AUTH if headers is None else headers)


def entries(services) -> list[dict[str, Any]]:
    return journal.search(services.store, platform="datamanager")


def violations(resp) -> list[dict[str, Any]]:
    [info, bad_request] = resp.json["error"]["details"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["domain"] == "datamanager.googleapis.com"
    assert bad_request["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert info["reason"] == bad_request["fieldViolations"][0]["reason"]
    return bad_request["fieldViolations"]


# --- success ---------------------------------------------------------------------------------

def test_valid_event_gets_a_request_id(issue_gclid, client, services):
    resp = ingest(client, body([event(services, issue_gclid(services))]))
    assert resp.status_code == 200
    assert list(resp.json) == ["requestId"]
    assert resp.json["requestId"]


def test_accepted_event_is_journaled_as_a_normalized_event(issue_gclid, client, services):
    gclid = issue_gclid(services)
    sent = event(services, gclid)
    ingest(client, body([sent]))
    [entry] = entries(services)
    assert (entry["api"], entry["status"], entry["accepted"]) == ("ingest", 200, True)
    [ev] = entry["events"]
    expected = datetime.fromisoformat(sent["eventTimestamp"].replace("Z", "+00:00"))
    assert ev["event_name"] == "987654321"
    assert ev["event_time"] == expected.timestamp()
    assert (ev["event_id"], ev["value"], ev["currency"]) == ("conv-1", 12.5, "USD")
    assert ev["click_id"] == {"kind": "gclid", "value": gclid,
                              "field": "events[0].adIdentifiers.gclid"}
    assert ev["raw"] == sent
    assert ev["field_prefix"] == "events[0]"
    assert ev["attribution"]["status"] == "matched"
    assert ev["findings"] == []


def test_enums_are_accepted_as_integers_and_names_in_snake_case(issue_gclid, client, services):
    payload = {
        "destinations": [{"operating_account": {"account_type": 1, "account_id": "1"},
                          "product_destination_id": "2"}],
        "events": [{"event_timestamp": rfc3339(services.clock.now()), "event_source": 1,
                    "ad_identifiers": {"gclid": issue_gclid(services)},
                    "user_data": {"user_identifiers": [{"email_address": EMAIL_SHA256}]},
                    "consent": {"ad_user_data": "CONSENT_GRANTED", "ad_personalization": 2}}],
        "encoding": 1,
    }
    assert ingest(client, payload).status_code == 200


def test_case_flipped_gclid_is_accepted_but_journaled_as_modified(issue_gclid, client, services):
    gclid = issue_gclid(services)
    i = next(i for i, c in enumerate(gclid) if c.isalpha())
    mangled = gclid[:i] + gclid[i].swapcase() + gclid[i + 1:]
    assert ingest(client, body([event(services, mangled)])).status_code == 200
    [ev] = entries(services)[0]["events"]
    assert ev["attribution"]["status"] == "modified"
    assert ev["findings"][0]["code"] == "EVENT_NOT_FOUND"


# --- errors ----------------------------------------------------------------------------------

def test_missing_token_gets_unauthenticated(issue_gclid, client, services):
    resp = ingest(client, body([event(services, issue_gclid(services))]), headers={})
    assert resp.status_code == 401
    assert resp.json == {"error": {
        "code": 401,
        "message": "Request is missing required authentication credential. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "status": "UNAUTHENTICATED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "CREDENTIALS_MISSING", "domain": "googleapis.com",
                     "metadata": {"method": "google.ads.datamanager.v1.IngestionService."
                                            "IngestEvents",
                                  "service": "datamanager.googleapis.com"}}],
    }}
    assert entries(services)[0]["accepted"] is False


def test_missing_event_timestamp_gets_the_full_error_model(issue_gclid, client, services):
    resp = ingest(client, body([event(services, issue_gclid(services), eventTimestamp=None)]))
    assert resp.status_code == 400
    assert resp.json == {"error": {
        "code": 400,
        "message": "Required field events[0].event_timestamp is missing.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
             "reason": "REQUIRED_FIELD_MISSING", "domain": "datamanager.googleapis.com",
             "metadata": {"method": "google.ads.datamanager.v1.IngestionService.IngestEvents",
                          "service": "datamanager.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.BadRequest",
             "fieldViolations": [{"field": "events[0].event_timestamp",
                                  "description": "Required field events[0].event_timestamp is "
                                                 "missing.",
                                  "reason": "REQUIRED_FIELD_MISSING"}]},
        ],
    }}


@pytest.mark.parametrize(
    ("changes", "reason", "field"),
    [
        ({"eventTimestamp": "2026-11-01 10:00:00"}, "INVALID_FORMAT",
         "events[0].event_timestamp"),
        ({"eventTimestamp": "2026-11-01T10:00:00"}, "INVALID_FORMAT",
         "events[0].event_timestamp"),
        ({"currency": "usd"}, "INVALID_CURRENCY_CODE", "events[0].currency"),
        ({"eventSource": "WEBSITE"}, "INVALID_ENUM_VALUE", "events[0].event_source"),
        ({"adIdentifiers": {}}, "NO_IDENTIFIERS_PROVIDED", "events[0]"),
        ({"userData": {"userIdentifiers": [{"emailAddress": "john@example.com"}]}},
         "INVALID_SHA256_FORMAT", "events[0].user_data.user_identifiers[0].email_address"),
    ],
    ids=["no-t", "no-offset", "lowercase-currency", "unknown-enum", "no-identifier",
         "unhashed-email"],
)
def test_invalid_event_is_refused_with_its_error_reason(
    issue_gclid, client, services, changes, reason, field
):
    resp = ingest(client, body([event(services, issue_gclid(services), **changes)],
                               encoding="HEX"))
    assert resp.status_code == 400
    assert resp.json["error"]["status"] == "INVALID_ARGUMENT"
    [violation] = violations(resp)
    assert (violation["reason"], violation["field"]) == (reason, field)


def test_user_data_without_encoding_is_required_field_missing(issue_gclid, client, services):
    user_data = {"userIdentifiers": [{"emailAddress": EMAIL_SHA256}]}
    resp = ingest(client, body([event(services, issue_gclid(services), userData=user_data)]))
    [violation] = violations(resp)
    assert (violation["reason"], violation["field"]) == ("REQUIRED_FIELD_MISSING", "encoding")
    ok = ingest(client, body([event(services, issue_gclid(services), userData=user_data)],
                             encoding="HEX"))
    assert ok.status_code == 200


def test_hex_digest_under_base64_encoding_is_invalid_sha256_format(issue_gclid, client, services):
    user_data = {"userIdentifiers": [{"emailAddress": EMAIL_SHA256}]}
    resp = ingest(client, body([event(services, issue_gclid(services), userData=user_data)],
                               encoding="BASE64"))
    assert violations(resp)[0]["reason"] == "INVALID_SHA256_FORMAT"


def test_one_invalid_event_rejects_the_whole_request(issue_gclid, client, services):
    gclid = issue_gclid(services)
    good = event(services, gclid)
    bad = event(services, gclid, transactionId="conv-2", currency="dollars")
    resp = ingest(client, body([good, bad]))
    assert resp.status_code == 400
    assert violations(resp)[0]["field"] == "events[1].currency"
    [entry] = entries(services)
    assert entry["accepted"] is False
    assert len(entry["events"]) == 2


def test_more_than_2000_events_is_too_many_events(issue_gclid, client, services):
    gclid = issue_gclid(services)
    resp = ingest(client, body([event(services, gclid, transactionId=f"t{i}")
                                for i in range(2001)]))
    assert resp.status_code == 400
    [violation] = violations(resp)
    assert (violation["reason"], violation["field"]) == ("TOO_MANY_EVENTS", "events")


def test_unknown_field_is_a_json_payload_error(issue_gclid, client, services):
    resp = ingest(client, body([event(services, issue_gclid(services), clickId="x")]))
    assert resp.status_code == 400
    assert resp.json["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "clickId" at \'events[0]\': '
        "Cannot find field.")


def test_missing_destinations_is_required_field_missing(issue_gclid, client, services):
    resp = ingest(client, {"events": [event(services, issue_gclid(services))]})
    [violation] = violations(resp)
    assert (violation["reason"], violation["field"]) == ("REQUIRED_FIELD_MISSING",
                                                         "destinations")


def test_injected_429_answers_resource_exhausted(issue_gclid, client, services):
    faults.add(services.store, services.clock, platform="datamanager", kind="status",
               status=429, retry_after=3)
    resp = ingest(client, body([event(services, issue_gclid(services))]))
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "3"
    assert resp.json["error"]["status"] == "RESOURCE_EXHAUSTED"


# --- validateOnly ----------------------------------------------------------------------------

def test_validate_only_answers_but_is_not_recorded_as_accepted(issue_gclid, client, services):
    resp = ingest(client, body([event(services, issue_gclid(services))], validateOnly=True))
    assert resp.status_code == 200
    assert "requestId" in resp.json
    assert entries(services)[0]["accepted"] is False
