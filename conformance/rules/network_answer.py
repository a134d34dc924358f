"""What the receiver answers the network: the body a network reads as success.

TUNE documents the answer to a postback as `success=true;` (or `success=false; err_msg=...`);
anything else is a failed postback in its log. The persona's `expected_answer.body` says so; the
other personas read the status code only, so the rule has nothing to check for them.
"""

from __future__ import annotations

from collections.abc import Iterator

from conformance.context import ScenarioContext
from conformance.findings import Violation
from conformance.rules.docs import TUNE_POSTBACK
from conformance.rules.registry import rule
from simulator import personas


@rule(id="PB-003", platform="any", severity="must", doc_url=TUNE_POSTBACK)
def answers_as_the_network_reads_success(ctx: ScenarioContext) -> Iterator[Violation]:
    """Each postback is answered with the body its network reads as success (TUNE)."""
    try:
        persona = personas.get(ctx.profile_value("network"))
    except personas.PersonaError:
        return
    expected = persona.expected_answer.get("body")
    if not expected:
        return
    for delivery in ctx.deliveries:
        for attempt in delivery.get("attempts") or []:
            if attempt.get("status_code") is None:
                continue  # no answer at all: the retry rules' business
            body = (attempt.get("response_body") or "").strip()
            if not body.startswith(expected):
                yield Violation(
                    f"postback {delivery.get('id')} attempt {attempt.get('number')}: answer body",
                    f"a body starting {expected!r}", body[:120],
                    f"{persona.title} logs any other answer as a failed postback")
