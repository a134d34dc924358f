"""The JSON report (contract in design.md): summary counts and one record per scenario."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.reporters.atomic_file import write_atomically
from conformance.results import RunSummary


def report_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "summary": summary.counts(),
        "scenarios": [result.to_dict() for result in summary.results],
    }


def write_json(summary: RunSummary, path: str | Path) -> None:
    write_atomically(path, json.dumps(report_dict(summary), indent=2, ensure_ascii=False) + "\n")
