"""The JSON report (contract in design.md): summary counts and one record per scenario."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.results import RunSummary


def report_dict(summary: RunSummary) -> dict[str, Any]:
    return {
        "summary": summary.counts(),
        "scenarios": [result.to_dict() for result in summary.results],
    }


def write_json(summary: RunSummary, path: str | Path) -> None:
    """Write atomically, so a crash never leaves half a report for CI to parse."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(report_dict(summary), indent=2, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    tmp.replace(target)
