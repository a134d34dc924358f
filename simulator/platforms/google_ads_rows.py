"""Google Ads click-conversion rows: each checked on its own, as partial-failure mode does.

Row errors are ConversionUploadError values of current API versions [official:
google/ads/googleads/v20/errors/conversion_upload_error.proto; platform-rules.md section 4].
Each failed row gets `{}` in `results` and one GoogleAdsError with its field path.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from simulator.config import SimConfig
from simulator.platforms import attribution
from simulator.platforms.google_errors import FieldPath, ads_error
from simulator.platforms.google_protojson import fits_int64
from simulator.store import Store

# "yyyy-mm-dd hh:mm:ss+|-hh:mm", e.g. "2019-01-01 12:32:45-08:00"; the offset is mandatory
# [official: ClickConversion.conversion_date_time]. Fractional seconds are tolerated.
DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2}):(\d{2}))?"
)
# gclid: 25-100 characters of [A-Za-z0-9_-] (platform-rules.md section 4: official blog; seed).
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{25,100}")
# gbraid/wbraid have no published shape [open]: the same alphabet, any length from 10.
BRAID = re.compile(r"[A-Za-z0-9_-]{10,}")
CONVERSION_ACTION = re.compile(r"customers/(\d+)/conversionActions/(\d+)")
CLICK_KINDS = ("gclid", "gbraid", "wbraid")
TOO_RECENT = timedelta(hours=6)

# Messages are the enum descriptions of conversion_upload_error.proto (v20).
MESSAGES = {
    "UNPARSEABLE_GCLID": "The imported gclid could not be decoded.",
    "UNPARSEABLE_GBRAID": "Can't parse event import data. Check if your gbraid parameter was "
                          "not modified and try again.",
    "UNPARSEABLE_WBRAID": "Can't parse event import data. Check if your wbraid parameter was "
                          "not modified and try again.",
    "EVENT_NOT_FOUND": "The imported event could not be attributed to a click. This may be "
                       "because the event did not come from a Google Ads campaign.",
    "EXPIRED_EVENT": "The imported event can't be recorded because its click occurred before "
                     "this conversion's click-through window. Make sure you import the most "
                     "recent data.",
    "CONVERSION_PRECEDES_EVENT": "The imported event has a conversion_date_time that precedes "
                                 "the click. Make sure your conversion_date_time is correct and "
                                 "try again.",
    "TOO_RECENT_EVENT": "The click associated with the given identifier or iOS URL parameter "
                        "occurred less than 6 hours ago. Retry after 6 hours have passed.",
    "ORDER_ID_ALREADY_IN_USE": "The imported event includes an order ID that was previously "
                               "recorded, so the event was not processed.",
    "DUPLICATE_ORDER_ID": "Imported events include multiple conversions with the same order ID "
                          "and were not processed. Make sure order IDs are unique and try again.",
    "CLICK_CONVERSION_ALREADY_EXISTS": "The imported event has the same click and "
                                       "conversion_date_time as an existing conversion. Use a "
                                       "unique conversion_date_time or order ID for each unique "
                                       "event and try again.",
    "DUPLICATE_CLICK_CONVERSION_IN_REQUEST": "Multiple events have the same click and "
                                             "conversion_date_time. Make sure your "
                                             "conversion_date_time is correctly configured and "
                                             "try again.",
    "NO_CONVERSION_ACTION_FOUND": "The conversion action specified in the upload request "
                                  "cannot be found. Make sure it's available in this account.",
    "GBRAID_WBRAID_BOTH_SET": "Can't use both gbraid and wbraid parameters. Use only 1 and try "
                              "again.",
}

# Durable memory of accepted rows is the journal itself: an accepted google_ads entry whose
# `results[i]` is non-empty accepted event i (failed rows get `{}`; validateOnly gets none);
# adjustments (api `adjust`) are no conversions of their own.
ACCEPTED_ROWS = """
SELECT j.id, json_extract(e.value, '$.event_time') AS event_time
FROM journal AS j, json_each(j.events) AS e
WHERE j.platform = 'google_ads' AND j.accepted = 1 AND j.api <> 'adjust'
  AND json_extract(j.response, '$.results[' || e.key || '].conversionAction') IS NOT NULL
  AND json_extract(e.value, '$.event_name') = ?
"""


@dataclass
class Row:
    """One conversion as read: the raw object, its camelCase view, and what was concluded."""

    index: int
    raw: Any
    conv: dict[str, Any]
    event_time: float | None = None
    click_kind: str | None = None
    click_value: str | None = None
    attribution: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    @property
    def action(self) -> str | None:
        value = self.conv.get("conversionAction")
        return value if isinstance(value, str) and value else None

    @property
    def order_id(self) -> str | None:
        value = self.conv.get("orderId")
        return value if isinstance(value, str) and value else None

    def fail(
        self, kind: str, name: str, field_name: str | None, message: str | None = None
    ) -> None:
        if self.error is None:
            path: FieldPath = [("conversions", self.index)]
            if field_name:
                path = [*path, (field_name, None)]
            self.error = ads_error(kind, name, message or MESSAGES[name], path)

    def fail_upload(self, name: str, field_name: str | None) -> None:
        self.fail("conversionUploadError", name, field_name)


def parse_date_time(text: str) -> tuple[float | None, str | None]:
    """(epoch seconds, None) or (None, DateError name) for a conversionDateTime."""
    match = DATE_TIME.fullmatch(text)
    if not match:
        return None, "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"
    year, month, day, hour, minute, second, frac, sign, off_h, off_m = match.groups()
    if sign is None:
        return None, "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET"
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (-1 if sign == "-" else 1)
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int((frac or "0").ljust(6, "0")), tzinfo=timezone(offset))
    except ValueError:
        return None, "INVALID_FIELD_VALUES_IN_DATE_TIME"
    return when.timestamp(), None


DATE_MESSAGES = {
    "INVALID_STRING_DATE_TIME_SECONDS_WITH_OFFSET":
        "The string date time's format should be yyyy-mm-dd hh:mm:ss+|-hh:mm.",
    "INVALID_FIELD_VALUES_IN_DATE_TIME": "The field values in the date time are invalid.",
}


def read_fields(row: Row, customer_id: str) -> None:
    """Required fields, the conversion action's account, the date, the click identifier."""
    action = CONVERSION_ACTION.fullmatch(row.action or "")
    if not row.action:
        row.fail("fieldError", "REQUIRED", "conversion_action",
                 "The required field was not present.")
    elif not action or not all(map(fits_int64, action.groups())):
        # IDs in a resource name are int64s (google_protojson.INT64_MAX).
        row.fail("requestError", "RESOURCE_NAME_MALFORMED", "conversion_action",
                 "The resource name is malformed.")
    elif action.group(1) != customer_id:
        # An action of another account is not found in this one [open: the simulator knows
        # no conversion actions, so only the account part of the name is checked].
        row.fail_upload("NO_CONVERSION_ACTION_FOUND", "conversion_action")
    stamp = row.conv.get("conversionDateTime")
    if not stamp:
        row.fail("fieldError", "REQUIRED", "conversion_date_time",
                 "The required field was not present.")
    else:
        row.event_time, date_error = parse_date_time(stamp)
        if date_error:
            row.fail("dateError", date_error, "conversion_date_time", DATE_MESSAGES[date_error])
    present = [k for k in CLICK_KINDS if row.conv.get(k)]
    if present:
        row.click_kind, row.click_value = present[0], row.conv[present[0]]
    if len(present) > 1:
        # The API names only gbraid+wbraid; any second identifier is refused the same way [open].
        row.fail_upload("GBRAID_WBRAID_BOTH_SET", present[1])
    elif row.click_kind == "gclid" and not CLICK_ID.fullmatch(row.click_value or ""):
        row.fail_upload("UNPARSEABLE_GCLID", "gclid")
    elif row.click_kind in ("gbraid", "wbraid") and not BRAID.fullmatch(row.click_value or ""):
        row.fail_upload(f"UNPARSEABLE_{row.click_kind.upper()}", row.click_kind)
    elif not present and not row.conv.get("userIdentifiers"):
        row.fail("fieldError", "REQUIRED", "gclid", "The required field was not present.")


def check_duplicates_in_request(rows: list[Row]) -> None:
    """Every row sharing an order ID (per action), or a click and time, with another is refused."""
    orders = Counter((r.action, r.order_id) for r in rows if r.order_id)
    clicks = Counter((r.action, r.click_value, r.event_time) for r in rows
                     if r.click_value and r.event_time is not None)
    for row in rows:
        if row.order_id and orders[(row.action, row.order_id)] > 1:
            row.fail_upload("DUPLICATE_ORDER_ID", "order_id")
        key = (row.action, row.click_value, row.event_time)
        if row.click_value and row.event_time is not None and clicks[key] > 1:
            row.fail_upload("DUPLICATE_CLICK_CONVERSION_IN_REQUEST", row.click_kind)


def attribute(
    row: Row, store: Store, config: SimConfig, now: float,
    issued: Mapping[str, attribution.IssuedClicks] | None = None,
) -> None:
    """Match the click ID against issued clicks (`issued`: the request's, by kind); map the
    outcome to the API's error."""
    kind = row.click_kind or "gclid"
    row.attribution = attribution.attribute(
        store, kind, row.click_value, event_ts=row.event_time,
        window_days=config.google_click_window_days, issued=(issued or {}).get(kind),
    )
    status = row.attribution["status"]
    if status in ("unknown", "modified"):
        row.fail_upload("EVENT_NOT_FOUND", row.click_kind)
    elif status == "expired":
        row.fail_upload("EXPIRED_EVENT", row.click_kind)
    elif status == "precedes":
        row.fail_upload("CONVERSION_PRECEDES_EVENT", "conversion_date_time")
    elif status == "matched" and config.google_check_too_recent:
        click = ((issued or {}).get(kind) or {}).get(row.click_value or "") or store.get(
            "ad_clicks", row.attribution["ad_click_id"]) or {}
        if now - float(click.get("ts", now)) < TOO_RECENT.total_seconds():
            row.fail_upload("TOO_RECENT_EVENT", row.click_kind)


def check_earlier_uploads(row: Row, store: Store) -> None:
    """An order ID or a click+time already recorded for this action by an earlier request."""
    if row.error or not row.action:
        return
    if row.order_id and store.query_one(
        ACCEPTED_ROWS + " AND json_extract(e.value, '$.event_id') = ? LIMIT 1",
        (row.action, row.order_id),
    ):
        row.fail_upload("ORDER_ID_ALREADY_IN_USE", "order_id")
    elif row.click_value and row.event_time is not None and store.query_one(
        ACCEPTED_ROWS + " AND json_extract(e.value, '$.click_id.value') = ?"
        " AND json_extract(e.value, '$.event_time') = ? LIMIT 1",
        (row.action, row.click_value, row.event_time),
    ):
        row.fail_upload("CLICK_CONVERSION_ALREADY_EXISTS", row.click_kind)


def check_rows(
    raw_rows: list[Any],
    rows: list[dict[str, Any]],
    store: Store,
    config: SimConfig,
    *,
    now: float,
    customer_id: str,
) -> list[Row]:
    """Check every conversion; a row keeps the first error found, as the API reports one."""
    checked = [Row(i, raw, conv) for i, (raw, conv) in enumerate(zip(raw_rows, rows, strict=True))]
    for row in checked:
        read_fields(row, customer_id)
    check_duplicates_in_request(checked)
    issued = attribution.issued_by_kind(store, ((r.click_kind, r.click_value) for r in checked))
    for row in checked:
        attribute(row, store, config, now, issued)
        check_earlier_uploads(row, store)
    return checked


def result(row: Row) -> dict[str, Any]:
    """ClickConversionResult for an accepted row; `{}` for a failed one."""
    if row.error:
        return {}
    out: dict[str, Any] = {}
    if row.click_kind:
        out[row.click_kind] = row.click_value
    out["conversionAction"] = row.action
    out["conversionDateTime"] = row.conv.get("conversionDateTime")
    if row.conv.get("userIdentifiers"):
        out["userIdentifiers"] = row.conv["userIdentifiers"]
    return out


def number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def event(
    index: int, prefix: str, error: dict[str, Any] | None, raw: Any,
    attribution: dict[str, Any], **fields: Any,
) -> dict[str, Any]:
    """A journal NormalizedEvent (ARCHITECTURE.md "Mock platforms") of one Google Ads row:
    `fields` from event_name to user, the row's error as its finding."""
    findings = []
    if error:
        code = next(iter(error["errorCode"].values()))
        path = error.get("location", {}).get("fieldPathElements", [])
        where = ".".join([prefix, *(e["fieldName"] for e in path[1:])])
        findings.append({"code": code, "field": where, "message": error["message"]})
    return {"index": index, **fields, "raw": raw, "field_prefix": prefix,
            "attribution": attribution, "findings": findings}


def normalized(row: Row) -> dict[str, Any]:
    """The row as a journal NormalizedEvent."""
    prefix = f"conversions[{row.index}]"
    return event(
        row.index, prefix, row.error, row.raw, row.attribution,
        event_name=row.action,
        event_time=row.event_time,
        event_id=row.order_id,
        value=number(row.conv.get("conversionValue")),
        currency=row.conv.get("currencyCode"),
        click_id={"kind": row.click_kind, "value": row.click_value,
                  "field": f"{prefix}.{row.click_kind}"} if row.click_kind else None,
        user={"ip": row.conv.get("userIpAddress"), "user_agent": None},
    )
