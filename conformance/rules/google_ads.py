"""Google Ads `uploadClickConversions` rules of its own (platform-rules.md section 4).

The rules Google Ads shares with the other platforms are in `families.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import GADS_REQUEST
from conformance.rules.registry import rule
from conformance.rules.shapes import request_fields


@rule(id="GADS-007", platform="google_ads", severity="must", doc_url=GADS_REQUEST)
def partial_failure_true(ctx: ScenarioContext) -> Iterator[Violation]:
    """partialFailure is true (Google rejects the upload otherwise)."""
    for entry, key, value in request_fields(ctx, "google_ads", "partialFailure"):
        if value is not True:
            note = "PARTIAL_FAILURE_MODE_REQUIRED"
            yield Violation(key, "true", value, note, journal_id=entry.get("id"))
