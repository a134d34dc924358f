"""What a rule reports: a `Finding` (the public record) and a `Violation` (what a check yields).

Checks yield violations that only know *where* and *what*; the rule that ran them adds its ID,
severity, platform and doc URL, so no check repeats its rule's metadata.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


class _Missing:
    """The received value when a field was not sent at all."""

    def __repr__(self) -> str:
        return "nothing"


MISSING: Any = _Missing()


def show(value: Any, limit: int = 80) -> str:
    """A received value as a message shows it: repr, shortened in the middle of long strings."""
    if value is MISSING:
        return "nothing"
    if value is None or isinstance(value, bool):
        return json.dumps(value)  # payloads are JSON: say false/null, not False/None
    text = repr(value)
    if len(text) > limit:
        keep = (limit - 3) // 2
        text = f"{text[:keep]}...{text[-keep:]}"
    return text


def describe(field_path: str, expected: str, received: Any, note: str | None = None) -> str:
    """`where: expected X, got 'Y' (why)`: the message shape every finding uses."""
    where = field_path or "request"
    text = f"{where}: expected {expected}, got {show(received)}"
    return f"{text} ({note})" if note else text


@dataclass(frozen=True)
class Violation:
    """One breach found by a check, before its rule's metadata is attached."""

    field: str
    expected: str
    received: Any
    note: str | None = None
    journal_id: int | None = None
    event_index: int | None = None

    @property
    def message(self) -> str:
        return describe(self.field, self.expected, self.received, self.note)


@dataclass(frozen=True)
class Finding:
    """A rule's verdict on one place in one request, as reports carry it."""

    rule: str
    severity: str
    platform: str
    message: str
    doc_url: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's finding object."""
        return asdict(self)


def evidence_of(violation: Violation) -> dict[str, Any]:
    """The evidence dict of a violation; MISSING becomes None so it serialises."""
    received = None if violation.received is MISSING else violation.received
    return {
        "journal_id": violation.journal_id,
        "event_index": violation.event_index,
        "field": violation.field,
        "expected": violation.expected,
        "received": received,
    }
