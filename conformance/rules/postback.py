"""Cross-platform rules about what the receiver does with the postback's click ID.

The seed's rule: send a click ID only when a real ad click produced it, never fabricate one
(platform-rules.md section 1; Meta states the same for fbc).
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules import checks
from conformance.rules.docs import META_FBC
from conformance.rules.registry import rule
from conformance.rules.shapes import SHAPES

_RULE = {"platform": "any", "severity": "must", "doc_url": META_FBC}


@rule(id="PB-001", **_RULE)
def no_placeholder_click_ids(ctx: ScenarioContext) -> Iterator[Violation]:
    """No empty, null-like or unexpanded-macro click ID is forwarded to any platform."""
    for shape in SHAPES:
        yield from checks.placeholder_click_ids(ctx, shape)


@rule(id="PB-002", **_RULE)
def no_fabricated_click_ids(ctx: ScenarioContext) -> Iterator[Violation]:
    """A click ID is forwarded only when the conversion's click really carried one."""
    for shape in SHAPES:
        yield from checks.fabricated_click_ids(ctx, shape)
