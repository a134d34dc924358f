"""ConversionAdjustmentUploadService.UploadConversionAdjustments as Google Ads answers it over REST.

`POST /v{NN}/customers/{cid}:uploadConversionAdjustments` with `{"conversionAdjustments": [...],
"partialFailure": true}`. Each adjustment is a RETRACTION or a RESTATEMENT (`restatementValue:
{adjustedValue, currencyCode}`) of a conversion uploaded earlier, named by `orderId` or by
`gclidDateTimePair: {gclid, conversionDateTime}` [official:
https://developers.google.com/google-ads/api/docs/conversions/upload-adjustments and
https://developers.google.com/google-ads/api/reference/rpc/v23/ConversionAdjustment].
The original conversions are the rows the upload mock accepted (its journal entries).
Row errors are ConversionAdjustmentUploadError values [official:
https://developers.google.com/google-ads/api/reference/rpc/v23/ConversionAdjustmentUploadErrorEnum.ConversionAdjustmentUploadError],
each failed row getting `{}` in `results`, as in partial-failure mode for uploads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator.config import SimConfig
from simulator.platforms import google_errors, google_protojson
from simulator.platforms.google_ads_rows import (
    ACCEPTED_ROWS,
    CONVERSION_ACTION,
    DATE_MESSAGES,
    event,
    number,
)
from simulator.platforms.google_ads_rows import parse_date_time as parse_stamp
from simulator.platforms.google_ads_upload import (
    _request_failure,
    answer,
    open_request,
    required_rows,
)
from simulator.platforms.google_answer import Outcome
from simulator.platforms.google_errors import FieldPath, ads_error
from simulator.store import Store

CONTAINER = "conversion_adjustments"
KIND = "conversionAdjustmentUploadError"
TYPES = ("RETRACTION", "RESTATEMENT")
# The same request limit as click uploads [official: TOO_MANY_ADJUSTMENTS_IN_REQUEST].
MAX_ADJUSTMENTS = 2000
# "Try adjusting a conversion that occurred at least 24 hours ago" [official:
# TOO_RECENT_CONVERSION]; checked only with `google_check_too_recent`, like TOO_RECENT_EVENT.
TOO_RECENT_S = 24 * 3600.0

# Messages are the enum descriptions of conversion_adjustment_upload_error.proto.
MESSAGES = {
    "CONVERSION_NOT_FOUND": "The conversion for this conversion action and conversion "
                            "identifier can't be found. Make sure your conversion identifiers "
                            "are associated with the correct conversion action and try again.",
    "ADJUSTMENT_PRECEDES_CONVERSION": "Adjustment has an adjustment_date_time that occurred "
                                      "before the associated conversion. Make sure your "
                                      "adjustment_date_time is correct and try again.",
    "TOO_RECENT_CONVERSION": "Adjustment can't be recorded because the conversion occurred too "
                             "recently. Try adjusting a conversion that occurred at least 24 "
                             "hours ago.",
    "CONVERSION_ALREADY_RETRACTED": "The conversion was already retracted. This adjustment was "
                                    "not processed.",
    "NO_CONVERSION_ACTION_FOUND": "The conversion action specified in the adjustment request "
                                  "cannot be found. Make sure it's available in this account.",
    "CONVERSION_ACTION_NOT_ELIGIBLE_FOR_ENHANCEMENT": "Can't use enhanced conversions with the "
                                                      "specified conversion action.",
}

# Originals are the accepted click-conversion rows (google_ads_rows.ACCEPTED_ROWS, upload or
# gRPC upload); retractions already made are the accepted `adjust` rows answered RETRACTION.
RETRACTIONS = ACCEPTED_ROWS.replace("j.api <> 'adjust'", "j.api = 'adjust'").replace(
    "].conversionAction') IS NOT NULL", "].adjustmentType') = 'RETRACTION'")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class Adjustment:
    """One conversion adjustment as read (camelCase view `adj`), and what was concluded."""

    def __init__(self, index: int, raw: Any, adj: Any) -> None:
        self.index, self.raw = index, raw
        self.adj = _object(adj)
        self.action = _text(self.adj.get("conversionAction"))
        self.kind = _text(self.adj.get("adjustmentType"))
        self.order_id = _text(self.adj.get("orderId"))
        self.pair = _object(self.adj.get("gclidDateTimePair"))
        self.gclid = _text(self.pair.get("gclid"))
        self.restatement = _object(self.adj.get("restatementValue"))
        self.adjusted_at: float | None = None
        self.original_time: float | None = None
        self.error: dict[str, Any] | None = None
        self.attribution: dict[str, Any] = {"status": "unknown", "detail": "not looked up"}

    def fail(self, kind: str, name: str, fields: list[str], message: str | None = None) -> None:
        if self.error is None:
            path: FieldPath = [(CONTAINER, self.index), *((f, None) for f in fields)]
            self.error = ads_error(kind, name, message or MESSAGES[name], path)

    def required(self, *fields: str) -> None:
        self.fail("fieldError", "REQUIRED", list(fields), "The required field was not present.")


def read_fields(row: Adjustment, customer_id: str) -> float | None:
    """Required fields and their shapes; returns the original's conversion time when the
    adjustment names it by gclidDateTimePair."""
    action = CONVERSION_ACTION.fullmatch(row.action or "")
    if not row.action:
        row.required("conversion_action")
    elif not action or not all(map(google_protojson.fits_int64, action.groups())):
        row.fail("requestError", "RESOURCE_NAME_MALFORMED", ["conversion_action"],
                 "The resource name is malformed.")
    elif action.group(1) != customer_id:
        row.fail(KIND, "NO_CONVERSION_ACTION_FOUND", ["conversion_action"])
    if not row.kind:
        row.required("adjustment_type")
    elif row.kind == "ENHANCEMENT":
        # [open] the simulator's conversion actions are click uploads, never WEBPAGE actions.
        row.fail(KIND, "CONVERSION_ACTION_NOT_ELIGIBLE_FOR_ENHANCEMENT", ["adjustment_type"])
    elif row.kind not in TYPES:
        row.fail("requestError", "INVALID_ENUM_VALUE", ["adjustment_type"],
                 "Enum value not supported.")
    stamp = row.adj.get("adjustmentDateTime")
    if not isinstance(stamp, str) or not stamp:
        row.required("adjustment_date_time")
    else:
        row.adjusted_at, problem = parse_stamp(stamp)
        if problem:
            row.fail("dateError", problem, ["adjustment_date_time"], DATE_MESSAGES[problem])
    pair_time = None
    if not row.order_id and not row.pair:
        # One of the two identifiers is needed [official: ConversionAdjustment]; [open] which
        # field Google names when both are missing.
        row.required("order_id")
    elif not row.order_id:
        when = row.pair.get("conversionDateTime")
        if not row.gclid:
            row.required("gclid_date_time_pair", "gclid")
        elif not isinstance(when, str) or not when:
            row.required("gclid_date_time_pair", "conversion_date_time")
        else:
            pair_time, problem = parse_stamp(when)
            if problem:
                row.fail("dateError", problem, ["gclid_date_time_pair", "conversion_date_time"],
                         DATE_MESSAGES[problem])
    if row.kind == "RESTATEMENT" and number(row.restatement.get("adjustedValue")) is None:
        # [open] Google's exact answer to a restatement without a value; REQUIRED here.
        row.required("restatement_value", "adjusted_value")
    return pair_time


def _identity(row: Adjustment, pair_time: float | None) -> tuple[str, list[Any]]:
    if row.order_id:
        return " AND json_extract(e.value, '$.event_id') = ?", [row.order_id]
    return (" AND json_extract(e.value, '$.click_id.value') = ?"
            " AND json_extract(e.value, '$.event_time') = ?", [row.gclid, pair_time])


def find_original(row: Adjustment, store: Store, config: SimConfig, now: float,
                  pair_time: float | None) -> None:
    """The conversion the adjustment names, and whether it may be adjusted now."""
    if row.error:
        return
    where = ["order_id"] if row.order_id else ["gclid_date_time_pair"]
    sql, params = _identity(row, pair_time)
    found = store.query_one(ACCEPTED_ROWS + sql + " ORDER BY j.id LIMIT 1",
                            (row.action, *params))
    if not found:
        row.attribution = {"status": "unknown", "detail": "no accepted conversion has this "
                           "conversion action and identifier"}
        row.fail(KIND, "CONVERSION_NOT_FOUND", where)
        return
    row.original_time = found["event_time"]
    row.attribution = {"status": "matched", "detail": "original conversion found"}
    if row.adjusted_at is not None and row.original_time is not None \
            and row.adjusted_at < row.original_time:
        row.fail(KIND, "ADJUSTMENT_PRECEDES_CONVERSION", ["adjustment_date_time"])
    elif config.google_check_too_recent and row.original_time is not None \
            and now - row.original_time < TOO_RECENT_S:
        row.fail(KIND, "TOO_RECENT_CONVERSION", where)
    elif store.query_one(RETRACTIONS + sql + " LIMIT 1", (row.action, *params)):
        row.fail(KIND, "CONVERSION_ALREADY_RETRACTED", where)


def check_request(body: dict[str, Any], version: str, req_id: str) -> Outcome | None:
    """Whole-request rules, after the body parsed."""
    rows = body.get("conversionAdjustments")
    refused = required_rows(body, "conversionAdjustments", CONTAINER, version, req_id)
    if refused is None and not isinstance(rows, list):
        refused = Outcome(400, google_errors.json_payload_error(
            "conversion_adjustments", "Expected a list."))
    if refused is None and len(rows) > MAX_ADJUSTMENTS:
        refused = _request_failure(400, version, req_id, KIND, "TOO_MANY_ADJUSTMENTS_IN_REQUEST",
                                   "Upload fewer than 2001 adjustments in a single request.",
                                   [(CONTAINER, None)])
    return refused


def result(row: Adjustment) -> dict[str, Any]:
    """ConversionAdjustmentResult for an accepted row; `{}` for a failed one."""
    named = {"orderId": row.order_id} if row.order_id else {"gclidDateTimePair": row.pair}
    return {} if row.error else {**named, "conversionAction": row.action,
                                 "adjustmentDateTime": row.adj.get("adjustmentDateTime"),
                                 "adjustmentType": row.kind}


def normalized(row: Adjustment) -> dict[str, Any]:
    """The adjustment as a journal NormalizedEvent: event_time is the adjustment's time,
    event_id the orderId it names, value and currency the restated ones."""
    prefix = f"conversionAdjustments[{row.index}]"
    click = {"kind": "gclid", "value": row.gclid, "field": f"{prefix}.gclidDateTimePair.gclid"}
    return event(row.index, prefix, row.error, row.raw, row.attribution,
                 event_name=row.action, event_time=row.adjusted_at, event_id=row.order_id,
                 value=number(row.restatement.get("adjustedValue")),
                 currency=row.restatement.get("currencyCode"),
                 click_id=click if row.gclid else None, user={"ip": None, "user_agent": None})


def handle(store: Store, config: SimConfig, now: float, *, version: str, customer_id: str,
           headers: Mapping[str, str], body_text: str) -> Outcome:
    """Authenticate, parse, validate and answer one adjustment upload; no Flask here."""
    req_id = google_errors.request_id()
    read = open_request(headers, version, customer_id, body_text, req_id)
    if isinstance(read, Outcome):
        return read
    parsed, body = read
    refused = check_request(body, version, req_id)
    if refused:
        return refused
    raw_rows = parsed.get("conversionAdjustments") or parsed.get("conversion_adjustments") or []
    rows = [Adjustment(i, raw, adj)
            for i, (raw, adj) in enumerate(zip(raw_rows, body["conversionAdjustments"],
                                               strict=True))]
    for row in rows:
        pair_time = read_fields(row, customer_id)
        find_original(row, store, config, now, pair_time)
    validate_only = body.get("validateOnly") is True
    body_out = answer(version, req_id, [r.error for r in rows if r.error],
                      [result(r) for r in rows], validate_only=validate_only)
    return Outcome(200, body_out, events=[normalized(r) for r in rows],
                   accepted=not validate_only)
