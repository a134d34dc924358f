"""The console: a line per scenario as it finishes, then every failure in full."""

from __future__ import annotations

import sys
from typing import TextIO

from conformance.results import (
    RunEvent,
    RunFinished,
    RunNote,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
)

LABELS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "skipped": "SKIP"}


class ConsoleReporter:
    """Consumes runner events and writes human-readable progress and a summary."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None,
                 errors: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.errors = errors or sys.stderr
        self.color = self.stream.isatty() if color is None else color
        self._done = 0
        self._total = 0
        self._aborted = False

    def _paint(self, text: str, status: str) -> str:
        if not self.color:
            return text
        code = {"passed": "32", "failed": "31", "error": "35", "skipped": "33"}[status]
        return f"\033[{code}m{text}\033[0m"

    def _write(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def handle(self, event: RunEvent) -> None:
        if isinstance(event, RunStarted):
            self._total = event.total
            if event.aborted:
                # Nothing ran: one line, not the same reason once per scenario.
                self._aborted = True
                self.errors.write(f"postback-sim: error: {event.aborted}\n")
                self.errors.flush()
                return
            against = f"the receiver at {event.receiver}" if event.receiver else "the receiver"
            self._write(f"postback-sim: running {event.total} scenario(s) against {against} "
                        f"(simulator {event.sim_url})")
        elif self._aborted:
            return
        elif isinstance(event, RunNote):
            self._write(f"postback-sim: {event.message}")
        elif isinstance(event, ScenarioFinished):
            r = event.result
            width = len(str(self._total))
            label = self._paint(f"{LABELS[r.status]:<5}", r.status)
            if "run" in r.tags:  # a run-level result, not one of the scenarios counted
                count = f"[{'run':^{2 * width + 1}}]"
            else:
                self._done += 1
                count = f"[{self._done:>{width}}/{self._total}]"
            # A skip says why on the line: a scenario about another network, a slot in use...
            about = f"skipped: {r.error}" if r.status == "skipped" and r.error else r.title
            self._write(f"{count} {label} {r.id:<32} {r.duration_s:6.2f}s  {about}")
        elif isinstance(event, RunFinished):
            self.summary(event.summary)

    def summary(self, summary: RunSummary) -> None:
        bad = [r for r in summary.results if r.status in ("failed", "error")]
        for result in bad:
            self._details(result)
        counts = summary.counts()
        self._write()
        self._write(
            f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} errors, "
            f"{counts['skipped']} skipped in {summary.duration_s:.1f}s"
        )

    def _details(self, result: ScenarioResult) -> None:
        self._write()
        self._write(self._paint(f"{LABELS[result.status]} {result.id}: {result.title}",
                                result.status))
        if result.error:
            self._write(f"  {result.error}")
        for finding in result.findings:
            self._write(f"  [{finding.get('rule')}] ({finding.get('severity')}, "
                        f"{finding.get('platform')}) {finding.get('message')}")
            if finding.get("doc_url"):
                self._write(f"      {finding['doc_url']}")
