"""How the receiver retries a platform that asked it to wait (RFC 9110 Retry-After).

Google Ads and Meta throttle with 429 (Google: RESOURCE_EXHAUSTED) and expect the caller to back
off; a retry sooner than Retry-After is refused again and burns quota.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import RETRY_AFTER
from conformance.rules.registry import rule

RETRY_AFTER_FAULT = re.compile(r"Retry-After (?P<seconds>\d+(?:\.\d+)?)")
EARLY_TOLERANCE_S = 0.05  # clock granularity between the mock's two journal timestamps


@rule(id="RETRY-001", platform="any", severity="must", doc_url=RETRY_AFTER)
def honours_retry_after(ctx: ScenarioContext) -> Iterator[Violation]:
    """A request answered with Retry-After is not sent again before that many seconds."""
    entries = sorted(ctx.journal, key=lambda e: (e.get("ts") or 0.0, e.get("id") or 0))
    for index, entry in enumerate(entries):
        match = RETRY_AFTER_FAULT.search(str(entry.get("fault") or ""))
        if not match:
            continue
        wait = float(match["seconds"])
        later = [e for e in entries[index + 1:] if e.get("platform") == entry.get("platform")]
        if not later:
            continue
        gap = float(later[0].get("ts") or 0.0) - float(entry.get("ts") or 0.0)
        if gap < wait - EARLY_TOLERANCE_S:
            yield Violation(
                "retry", f"a retry at least {wait:g} s after the {entry.get('status')} "
                f"(Retry-After: {wait:g})", f"{gap:.2f} s later",
                f"request #{later[0].get('id')} came too soon after #{entry.get('id')}",
                journal_id=later[0].get("id"))
