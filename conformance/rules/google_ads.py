"""Google Ads rules of its own: `uploadClickConversions` (platform-rules.md section 4) and
`uploadConversionAdjustments` (retractions and restatements, issue 15 point 4).

The rules Google Ads shares with the other platforms are in `families.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import Row, ScenarioContext
from conformance.findings import MISSING, Violation
from conformance.rules.docs import GADS_ADJUSTMENTS, GADS_REQUEST, GADS_RESTATEMENT
from conformance.rules.registry import rule
from conformance.rules.shapes import request_fields
from conformance.rules.values import as_number, epoch_from_iso, lookup


@rule(id="GADS-007", platform="google_ads", severity="must", doc_url=GADS_REQUEST)
def partial_failure_true(ctx: ScenarioContext) -> Iterator[Violation]:
    """partialFailure is true (Google rejects the upload otherwise)."""
    for entry, key, value in request_fields(ctx, "google_ads", "partialFailure"):
        if value is not True:
            note = "PARTIAL_FAILURE_MODE_REQUIRED"
            yield Violation(key, "true", value, note, journal_id=entry.get("id"))


def _adjustments(ctx: ScenarioContext, kind: str) -> Iterator[tuple[Row, Row, Mapping[str, Any]]]:
    """(entry, event, raw adjustment) of each uploadConversionAdjustments row of this type."""
    for entry in ctx.journal:
        if entry.get("platform") != "google_ads" or entry.get("api") != "adjust":
            continue
        for event in entry.get("events") or []:
            raw = event.get("raw")
            if isinstance(raw, Mapping) and _get(raw, "adjustmentType") == kind:
                yield entry, event, raw


def _get(obj: Any, key: str) -> Any:
    found = lookup(obj, key)
    return found[1] if found else None


def _accepted_conversions(ctx: ScenarioContext) -> Iterator[Row]:
    """The click-conversion events Google Ads accepted (a non-empty result, when answered)."""
    for entry in ctx.journal:
        if entry.get("platform") != "google_ads" or entry.get("api") == "adjust" \
                or not entry.get("accepted"):
            continue
        response = entry.get("response")
        results = response.get("results") if isinstance(response, Mapping) else None
        for i, event in enumerate(entry.get("events") or []):
            if not isinstance(results, list) or (i < len(results) and results[i]):
                yield event


def _names_original(raw: Mapping[str, Any], originals: list[Row]) -> bool:
    action, order_id = _get(raw, "conversionAction"), _get(raw, "orderId")
    pair = _get(raw, "gclidDateTimePair")
    for event in originals:
        if action is not None and event.get("event_name") not in (None, action):
            continue
        if order_id:
            if event.get("event_id") == order_id:
                return True
        elif isinstance(pair, Mapping):
            click = event.get("click_id") or {}
            when = epoch_from_iso(_get(pair, "conversionDateTime"))
            if click.get("value") == _get(pair, "gclid") and when is not None \
                    and when == event.get("event_time"):
                return True
    return False


@rule(id="GADS-011", platform="google_ads", severity="must", doc_url=GADS_ADJUSTMENTS)
def retraction_names_original(ctx: ScenarioContext) -> Iterator[Violation]:
    """A retraction names the orderId or gclidDateTimePair of a conversion Google accepted."""
    originals = list(_accepted_conversions(ctx))
    for entry, event, raw in _adjustments(ctx, "RETRACTION"):
        if _names_original(raw, originals):
            continue
        prefix = event.get("field_prefix") or f"conversionAdjustments[{event.get('index', 0)}]"
        order = lookup(raw, "orderId")
        pair = lookup(raw, "gclidDateTimePair")
        key, value = order or pair or ("orderId", MISSING)
        yield Violation(
            f"{prefix}.{key}", "the orderId or gclidDateTimePair of a conversion uploaded "
            "and accepted before", value, "Google answers CONVERSION_NOT_FOUND",
            journal_id=entry.get("id"), event_index=event.get("index"),
        )


@rule(id="GADS-012", platform="google_ads", severity="must", doc_url=GADS_RESTATEMENT)
def restatement_value_and_currency(ctx: ScenarioContext) -> Iterator[Violation]:
    """A restatement carries the new value (adjustedValue) and its currency (currencyCode)."""
    for entry, event, raw in _adjustments(ctx, "RESTATEMENT"):
        prefix = event.get("field_prefix") or f"conversionAdjustments[{event.get('index', 0)}]"
        found = lookup(raw, "restatementValue")
        key, restated = found or ("restatementValue", {})
        restated = restated if isinstance(restated, Mapping) else {}
        value = lookup(restated, "adjustedValue")
        if value is None or as_number(value[1]) is None:
            name = value[0] if value else "adjustedValue"
            yield Violation(f"{prefix}.{key}.{name}", "the restated conversion value (a number)",
                            value[1] if value else MISSING, journal_id=entry.get("id"),
                            event_index=event.get("index"))
        currency = lookup(restated, "currencyCode")
        if currency is None or not isinstance(currency[1], str) or not currency[1].strip():
            name = currency[0] if currency else "currencyCode"
            yield Violation(f"{prefix}.{key}.{name}", "the ISO 4217 code of the restated value",
                            currency[1] if currency else MISSING,
                            "without it Google assumes the action's or account's currency",
                            journal_id=entry.get("id"), event_index=event.get("index"))
