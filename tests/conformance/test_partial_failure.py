"""Google Ads answers 200 even when it rejects a row (partialFailure: true); the scenario's
`accepted` expectation must read the row's fate, and name the platform's error code."""

from __future__ import annotations

from conformance.context import ScenarioContext
from conformance.expectations import Judge, rejected_rows
from conformance.scenario import scenario_from_mapping

SCENARIO = scenario_from_mapping({
    "id": "gads", "title": "Gads", "description": "d https://example.com", "tags": [],
    "platforms": ["google_ads"],
    "steps": [{"click": {"as": "c"}}, {"conversion": {"as": "a", "click": "c"}},
              {"conversion": {"as": "b", "click": "c"}}],
    "expect": {"events": [{"conversion": "*", "platform": "google_ads", "accepted": True}]},
}, "gads.yaml")
CONVERSIONS = {name: {"conversion_id": f"conv-{name}", "ts": 1000.0, "payout": 1.0,
                      "currency": "USD", "click": None} for name in ("a", "b")}


def partial_failure(index: int, code: str) -> dict:
    """The body Google sends back for one failed row (google_ads_rows.py builds the same)."""
    location = {"fieldPathElements": [{"fieldName": "conversions", "index": index},
                                      {"fieldName": "gclid"}]}
    error = {"errorCode": {"conversionUploadError": code}, "message": "m", "location": location}
    return {"partialFailureError": {"code": 3, "message": "m", "details": [
        {"@type": "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure",
         "errors": [error]}]}, "results": [{}, {}]}


def upload(response: dict) -> dict:
    events = [{"index": i, "event_id": f"conv-{name}", "event_time": 1000, "click_id": None,
               "field_prefix": f"conversions[{i}]"} for i, name in enumerate("ab")]
    return {"id": 1, "platform": "google_ads", "ts": 1000.0, "status": 200, "accepted": True,
            "body": "", "response": response, "events": events}


def judged(entry: dict) -> list:
    ctx = ScenarioContext("gads", conversions=list(CONVERSIONS.values()), journal=[entry])
    return Judge(SCENARIO, ctx, CONVERSIONS, {"google_ads"}).run()


def test_rejected_rows_reads_the_row_index_and_code_of_a_partial_failure() -> None:
    assert rejected_rows(upload(partial_failure(1, "EVENT_NOT_FOUND"))) == {
        1: ["EVENT_NOT_FOUND"]}
    assert rejected_rows(upload({"results": [{}, {}]})) == {}


def test_a_row_google_rejected_in_a_200_is_not_accepted_and_the_code_is_named() -> None:
    (finding,) = judged(upload(partial_failure(0, "EVENT_NOT_FOUND")))
    assert finding.rule == "SCN-ACCEPTED"
    assert "conversion a (conv-a): expected it accepted by google_ads" in finding.message
    assert finding.message.endswith("the platform rejected the event: EVENT_NOT_FOUND")


def test_rows_of_a_clean_200_are_accepted() -> None:
    assert judged(upload({"results": [{}, {}]})) == []


REDELIVERY = scenario_from_mapping({
    "id": "gads-redelivery", "title": "Redelivery", "description": "d https://example.com",
    "tags": [], "platforms": ["google_ads"],
    "steps": [{"click": {"as": "c"}}, {"conversion": {"as": "a", "click": "c"}}],
    "expect": {"events": [{"conversion": "a", "platform": "google_ads", "count": "exactly_one"}]},
}, "gads-redelivery.yaml")


def sent_twice(second: dict) -> list:
    """Conversion a uploaded without an orderId, then again; `second` is Google's answer."""
    entries = []
    for entry_id, response in ((1, {"results": [{}]}), (2, second)):
        event = {"index": 0, "event_id": None, "event_time": 1000, "value": 1.0,
                 "click_id": None, "field_prefix": "conversions[0]"}
        entries.append({"id": entry_id, "platform": "google_ads", "ts": 1000.0 + entry_id,
                        "status": 200, "accepted": True, "body": "", "response": response,
                        "events": [event]})
    conversions = {"a": CONVERSIONS["a"]}
    ctx = ScenarioContext("gads-redelivery", conversions=list(conversions.values()),
                          journal=entries)
    return Judge(REDELIVERY, ctx, conversions, {"google_ads"}).run()


def test_a_redelivery_google_refused_as_already_uploaded_counts_once() -> None:
    # Google deduplicates click + conversionDateTime itself: CLICK_CONVERSION_ALREADY_EXISTS.
    assert sent_twice(partial_failure(0, "CLICK_CONVERSION_ALREADY_EXISTS")) == []


def test_a_redelivery_google_took_again_counts_twice() -> None:
    (finding,) = sent_twice({"results": [{}]})
    assert finding.rule == "SCN-EVENTS"
    assert "expected exactly one event" in finding.message
    assert "got 2 from 2 event(s)" in finding.message
