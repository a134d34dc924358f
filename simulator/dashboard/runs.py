"""Scenario runs started from the dashboard: one background thread per run, its progress kept
in a `Runs` registry that lives in `app.extensions` (never in a module global)."""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.results import RunEvent, RunSummary

EXTENSION_KEY = "postback_sim.dashboard.runs"
# (profile_path, scenario_ids, tags, sim_url) -> runner events; the real one is the runner's.
EventSource = Callable[[str, list[str], list[str], str | None], Iterable["RunEvent"]]


def runner_events(
    profile_path: str, scenario_ids: list[str], tags: list[str], sim_url: str | None
) -> Iterable[RunEvent]:
    """The conformance runner's event stream (imported late: the runner imports the simulator).

    A bad profile or an unknown scenario ID raises here, in the run's thread, and the run ends
    as `error` with that one-line reason."""
    from conformance.profile import load_profile
    from conformance.runner import RunOptions, run
    from conformance.scenario import load_catalogue, select

    profile = load_profile(profile_path)
    scenarios = select(load_catalogue(), scenario_ids, tags)
    return run(profile, scenarios, RunOptions(sim_url=sim_url))


@dataclass
class Run:
    """What the runs page shows of one run while it goes and after it ends."""

    id: int
    scenario_ids: list[str]
    state: str = "starting"  # starting | running | finished | error
    total: int | None = None
    current: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    summary: RunSummary | None = None
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "scenario_ids": self.scenario_ids,
            "state": self.state,
            "total": self.total,
            "done": len(self.results),
            "current": self.current,
            "results": self.results,
            "counts": self.summary.counts() if self.summary else None,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class Runs:
    """Starts runs in daemon threads and keeps their state; thread-safe."""

    def __init__(self, source: EventSource = runner_events) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._runs: dict[int, Run] = {}
        self._ids = itertools.count(1)

    def start(
        self,
        *,
        profile_path: str | None = None,
        profile_text: str | None = None,
        scenario_ids: list[str] | None = None,
        tags: list[str] | None = None,
        sim_url: str | None = None,
    ) -> Run:
        """Begin a run against a profile file, or pasted profile YAML written to a temp file."""
        temp = None
        if profile_text is not None:
            fd, temp = tempfile.mkstemp(prefix="profile-", suffix=".yaml")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(profile_text)
            profile_path = temp
        if not profile_path:
            raise ValueError("a profile path or pasted profile YAML is required")
        with self._lock:
            run = Run(id=next(self._ids), scenario_ids=list(scenario_ids or []))
            self._runs[run.id] = run
        thread = threading.Thread(
            target=self._work,
            args=(run, profile_path, list(scenario_ids or []), list(tags or []), sim_url, temp),
            name=f"dashboard-run-{run.id}",
            daemon=True,
        )
        thread.start()
        return run

    def get(self, run_id: int) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def all(self) -> list[Run]:
        """Every run of this app, newest first."""
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.id, reverse=True)

    def _work(self, run: Run, profile_path: str, scenario_ids: list[str], tags: list[str],
              sim_url: str | None, temp: str | None) -> None:
        try:
            for event in self._source(profile_path, scenario_ids, tags, sim_url):
                self._apply(run, event)
            if run.state != "finished":
                run.state, run.error = "error", "the runner stopped without finishing the run"
        except Exception as exc:  # the page must say why, not leave the run spinning
            run.state, run.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            run.finished_at = time.time()
            if temp:
                os.unlink(temp)
            run.done.set()

    @staticmethod
    def _apply(run: Run, event: RunEvent) -> None:
        from conformance.results import RunFinished, RunStarted, ScenarioFinished, ScenarioStarted

        if isinstance(event, RunStarted):
            run.state, run.total = "running", event.total
        elif isinstance(event, ScenarioStarted):
            run.current = f"{event.id}: {event.title}"
        elif isinstance(event, ScenarioFinished):
            run.results.append({**event.result.to_dict(), "error": event.result.error})
            run.current = None
        elif isinstance(event, RunFinished):
            run.summary, run.state = event.summary, "finished"
