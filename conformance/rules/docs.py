"""The documentation each rule enforces, official pages only (platform-rules.md cites them).

TikTok's portal pages are the Events API 2.0 ones; Google's reference pins v23, the version
platform-rules.md read the error names from.
"""

from __future__ import annotations

_META = "https://developers.facebook.com/documentation/ads-commerce/conversions-api"
_GADS = "https://developers.google.com/google-ads/api"
_DM = "https://developers.google.com/data-manager/api/reference/rest/v1"

META_FBC = f"{_META}/parameters/fbp-and-fbc"
META_PII = f"{_META}/parameters/customer-information-parameters"
META_SERVER_EVENT = f"{_META}/parameters/server-event"
META_CUSTOM_DATA = f"{_META}/parameters/custom-data"
META_DEDUP = f"{_META}/deduplicate-pixel-and-server-events"
META_USING_API = f"{_META}/using-the-api"
# test_event_code: "Use this code to test your server events in the Test Events feature"
META_MAIN_BODY = f"{_META}/parameters/main-body"
RETRY_AFTER = "https://www.rfc-editor.org/rfc/rfc9110#field.retry-after"
TIKTOK_EVENTS = "https://business-api.tiktok.com/portal/docs?id=1771101027431425"
TIKTOK_OVERVIEW = "https://business-api.tiktok.com/portal/docs?id=1771100865818625"
GADS_CONVERSION = f"{_GADS}/reference/rpc/v23/ClickConversion"
GADS_REQUEST = f"{_GADS}/reference/rpc/v23/UploadClickConversionsRequest"
GADS_UPLOAD = f"{_GADS}/docs/conversions/upload-clicks"
GADS_ADJUSTMENTS = f"{_GADS}/docs/conversions/upload-adjustments"
GADS_RESTATEMENT = f"{_GADS}/reference/rpc/v23/RestatementValue"
TUNE_POSTBACK = ("https://support.tune.com/hc/en-us/articles/"
                 "4413247665431-Receiving-Conversions-via-Postback-URL")
DM_EVENT = f"{_DM}/Event"
DM_INGEST = f"{_DM}/events/ingest"

# topic -> URL per platform, in the column order of shapes.SHAPES:
#          meta               tiktok           google_ads        datamanager
TOPICS: dict[str, tuple[str, str, str, str]] = {
    "click": (META_FBC, TIKTOK_EVENTS, GADS_UPLOAD, DM_EVENT),
    "time": (META_SERVER_EVENT, TIKTOK_EVENTS, GADS_CONVERSION, DM_EVENT),
    "dedup": (META_DEDUP, TIKTOK_EVENTS, GADS_CONVERSION, DM_EVENT),
    "money": (META_CUSTOM_DATA, TIKTOK_EVENTS, GADS_CONVERSION, DM_EVENT),
    "user": (META_PII, TIKTOK_OVERVIEW, GADS_CONVERSION, DM_INGEST),
    "testing": (META_MAIN_BODY, TIKTOK_EVENTS, GADS_REQUEST, DM_INGEST),
}
