"""What a run produces: runner events and scenario results, the only thing reporters read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "skipped"]


@dataclass
class ScenarioResult:
    """One scenario's verdict; `findings` are Finding.to_dict() records (the JSON report shape).

    FAILED means the receiver broke a rule or an expectation; ERROR means the harness could not
    judge (simulator unreachable, bad scenario); the two are never merged.
    """

    id: str
    title: str
    status: Status
    duration_s: float = 0.0
    findings: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    tags: list[str] = field(default_factory=list)
    error: str | None = None
    # Kept for people, not for verdicts: postbacks sent with their attempts, platform requests.
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's scenario record (contract in design.md)."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "findings": self.findings,
        }


@dataclass
class RunSummary:
    results: list[ScenarioResult]
    duration_s: float = 0.0

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        key = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped"}
        for result in self.results:
            out[key[result.status]] += 1
        return out

    @property
    def exit_code(self) -> int:
        """0 every run scenario passed, 1 any failed, 2 the harness could not judge one."""
        counts = self.counts()
        if counts["errors"]:
            return 2
        return 1 if counts["failed"] else 0


# Runner events: the runner yields these and never prints; reporters render them.
@dataclass
class RunStarted:
    """`aborted` is the one-line reason when the harness cannot run at all (receiver or
    simulator unreachable): every scenario then finishes as `error` with that reason."""

    total: int
    sim_url: str
    receiver: str = ""
    aborted: str | None = None


@dataclass
class ScenarioStarted:
    id: str
    title: str


@dataclass
class ScenarioFinished:
    result: ScenarioResult


@dataclass
class RunNote:
    """A line of progress worth telling the user (e.g. scenarios being rerun alone)."""

    message: str


@dataclass
class RunFinished:
    summary: RunSummary


RunEvent = RunStarted | ScenarioStarted | ScenarioFinished | RunNote | RunFinished
