"""What a Google mock concluded about one request: the answer to send and what to journal."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.platforms import google_errors, google_protojson
from simulator.platforms.journal import EventKey


@dataclass
class Outcome:
    """Status and body to send; events, findings and acceptance for the journal entry; with
    `recipe`, the events come later from the analyser, and `keys` index them for dedup now."""

    status: int
    body: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    accepted: bool = False
    recipe: str | None = None
    keys: list[EventKey] | None = None


def read_object(body_text: str) -> Outcome | tuple[dict[str, Any], dict[str, Any]]:
    """The request body as sent and in camelCase (protobuf JSON accepts snake_case and camelCase
    alike), or the 400 both Google APIs answer when it is not a JSON object."""
    parsed, problem = google_protojson.parse_json(body_text)
    if problem or not isinstance(parsed, dict):
        message = problem or "Expected a JSON object."
        return Outcome(
            400, google_errors.json_payload_error("", message),
            findings=[{"code": "INVALID_JSON", "field": None, "message": message}],
        )
    return parsed, google_protojson.camelize(parsed)
