"""The ledger of a load run: what the users fired, as JSON lines the master (or the lone Locust
process) appends and the verdict reads back.

Each conversion is written twice: `fired` before its postback leaves (a user stopped mid-request
still leaves its conversion on record) and `answered` with every attempt once it is over.
Workers send their lines to the master in batches; only the master writes the file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from conformance.load.postbacks import Attempt, Conversion, Firing

Record = dict[str, Any]


def fired_record(conversion: Conversion, fired_at: float) -> Record:
    click = {k: v for k, v in conversion.click.items() if k != "ad_click"}
    row = {k: v for k, v in conversion.row.items() if k != "click"}
    return {"type": "fired", "conversion_id": conversion.conversion_id,
            "platform": conversion.platform, "ad_click": conversion.ad_click, "click": click,
            "row": row, "fired_at": fired_at}


def answered_record(conversion_id: str, firing: Firing) -> Record:
    return {"type": "answered", "conversion_id": conversion_id, "outcome": firing.outcome,
            "attempts": [[a.status, a.error, a.ms, a.started] for a in firing.attempts]}


def error_record(kind: str) -> Record:
    """Something that kept a user from firing (the simulator refused an ad click...)."""
    return {"type": "error", "kind": kind}


class LedgerWriter:
    """Appends records as JSON lines; `flush()` after each batch so a crash loses little."""

    def __init__(self, path: str | Path) -> None:
        self._file: TextIO = Path(path).open("a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, records: Iterable[Record]) -> None:
        for record in records:
            self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


@dataclass
class Fired:
    """One conversion the load fired, with its rows and the receiver's answers."""

    conversion_id: str
    platform: str
    ad_click: dict[str, Any]
    click: dict[str, Any]
    row: dict[str, Any]
    fired_at: float
    attempts: list[Attempt] = field(default_factory=list)
    outcome: str | None = None  # delivered | failed | None (the user stopped before an answer)

    def conversion_row(self) -> dict[str, Any]:
        """The conversion as a rule's context holds it: the row with its click and ad click."""
        return {**self.row, "click": {**self.click, "ad_click": self.ad_click}}

    def answer(self) -> str:
        """How the receiver answered, for a listing: `HTTP 200`, `timeout after 10s x3`..."""
        if not self.attempts:
            return "no answer (the load stopped mid-request)"
        last = self.attempts[-1]
        text = f"HTTP {last.status}" if last.status is not None else str(last.error)
        return text if len(self.attempts) == 1 else f"{text} after {len(self.attempts)} attempts"


@dataclass
class Ledger:
    """Every conversion fired, by conversion ID, and the errors that kept users from firing."""

    fired: dict[str, Fired] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)


def read_ledger(lines: Iterable[str]) -> Ledger:
    """Merge the `fired`, `answered` and `error` lines into one Ledger."""
    ledger = Ledger()
    for record in _records(lines):
        kind = record.get("type")
        if kind == "fired":
            ledger.fired[record["conversion_id"]] = Fired(
                record["conversion_id"], record["platform"], record["ad_click"],
                record["click"], record["row"], record["fired_at"])
        elif kind == "answered" and record["conversion_id"] in ledger.fired:
            entry = ledger.fired[record["conversion_id"]]
            entry.attempts = [Attempt(*a) for a in record["attempts"]]
            entry.outcome = record["outcome"]
        elif kind == "error":
            ledger.errors[record["kind"]] += 1
    return ledger


def _records(lines: Iterable[str]) -> Iterator[Record]:
    for line in lines:
        line = line.strip()
        if line:
            try:
                yield json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed process
