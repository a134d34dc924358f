"""What a Google mock concluded about one request: the answer to send and what to journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """Status and body to send; events, findings and acceptance for the journal entry."""

    status: int
    body: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    accepted: bool = False
