"""Google Ads retractions in a scenario's journal: which accepted RETRACTION rows name an orderId.

A reversed conversion uploaded to Google Ads is taken back with
ConversionAdjustmentUploadService.UploadConversionAdjustments, adjustmentType RETRACTION, naming
the original by orderId (https://developers.google.com/google-ads/api/docs/conversions/upload-adjustments).
The mocks journal these requests as api `adjust`; their events carry the orderId as `event_id`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

Row = dict[str, Any]


def _kind(raw: Any) -> Any:
    raw = raw if isinstance(raw, dict) else {}
    return raw.get("adjustmentType", raw.get("adjustment_type"))


def retractions(journal: Iterable[Row], order_ids: set[str],
                rejected: dict[int, dict[int, list[str]]]) -> Iterator[tuple[Row, Row, bool]]:
    """(entry, event, accepted) for each RETRACTION row naming one of `order_ids`; `rejected`
    maps a journal id to its rows Google refused (expectations.rejected_rows)."""
    for entry in journal:
        if entry.get("platform") != "google_ads" or entry.get("api") != "adjust":
            continue
        for event in entry.get("events") or []:
            if _kind(event.get("raw")) != "RETRACTION" or str(event.get("event_id")) not in \
                    order_ids:
                continue
            refused = event.get("index") in rejected.get(entry.get("id"), {})
            yield entry, event, bool(entry.get("accepted")) and not refused
