"""Google Data Manager `events:ingest` rules of its own (platform-rules.md section 5).

The rules Data Manager shares with the other platforms are in `families.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import DM_INGEST
from conformance.rules.registry import rule
from conformance.rules.shapes import request_fields
from conformance.rules.values import lookup

ENCODINGS = ("HEX", "BASE64")


def _carries_user_data(entry: Mapping[str, Any]) -> bool:
    return any(lookup(e.get("raw"), "userData") is not None for e in entry.get("events") or [])


@rule(id="DM-008", platform="datamanager", severity="must", doc_url=DM_INGEST)
def encoding_with_user_data(ctx: ScenarioContext) -> Iterator[Violation]:
    """encoding (HEX or BASE64) is set when any event carries userData."""
    for entry, key, value in request_fields(ctx, "datamanager", "encoding"):
        if value not in ENCODINGS and _carries_user_data(entry):
            expected = "HEX or BASE64 (required with userData)"
            yield Violation(key, expected, value, journal_id=entry.get("id"))
