"""How the receiver retries a platform that asked it to wait (RFC 9110 Retry-After).

Google Ads and Meta throttle with 429 (Google: RESOURCE_EXHAUSTED) and expect the caller to back
off; a retry sooner than Retry-After is refused again and burns quota.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import RETRY_AFTER
from conformance.rules.registry import rule

RETRY_AFTER_FAULT = re.compile(r"Retry-After (?P<seconds>\d+(?:\.\d+)?)")
EARLY_TOLERANCE_S = 0.05  # clock granularity between the mock's two journal timestamps


def _requests_by_conversion(ctx: ScenarioContext) -> list[list[dict]]:
    """Each conversion's requests per platform, oldest first (a retry repeats one conversion)."""
    platforms = sorted({str(e.get("platform")) for e in ctx.journal})
    groups = [ctx.pairing.requests_for(c, platform) for c in ctx.conversions
              for platform in platforms]
    return [sorted(g, key=lambda e: (e.get("ts") or 0.0, e.get("id") or 0)) for g in groups if g]


@rule(id="RETRY-001", platform="any", severity="must", doc_url=RETRY_AFTER)
def honours_retry_after(ctx: ScenarioContext) -> Iterator[Violation]:
    """A request answered with Retry-After is not sent again before that many seconds."""
    for requests in _requests_by_conversion(ctx):
        for earlier, later in pairwise(requests):
            match = RETRY_AFTER_FAULT.search(str(earlier.get("fault") or ""))
            if not match:
                continue
            wait = float(match["seconds"])
            gap = float(later.get("ts") or 0.0) - float(earlier.get("ts") or 0.0)
            if gap < wait - EARLY_TOLERANCE_S:
                yield Violation(
                    "retry", f"a retry at least {wait:g} s after the {earlier.get('status')} "
                    f"(Retry-After: {wait:g})", f"{gap:.2f} s later",
                    f"request #{later.get('id')} repeated #{earlier.get('id')} too soon",
                    journal_id=later.get("id"))
