"""The runner's phases: concurrent play, reruns alone for requests it cannot tie, RUN-001."""

from __future__ import annotations

from typing import Any

from conformance.claims import Capture, claim_exclusive
from conformance.results import RunNote, ScenarioFinished, ScenarioResult
from conformance.runner import UNCLAIMED_ID, _judge_all
from conformance.scenario import Scenario
from conformance.steps import Played

T0 = 1_800_000_000.0


def scenario(sid: str) -> Scenario:
    return Scenario(sid, sid, "", [], ["meta"], [], {})


class FakeRunner:
    """Plays each scenario as a window of time with one conversion; the journal is given."""

    def __init__(self, windows: dict[str, tuple[float, float]], journal: list[dict]) -> None:
        self.windows = windows
        self.journals = [journal]
        self.client = self
        self.alone: list[str] = []

    def drain(self) -> None:
        """The journal is given whole: nothing more arrives."""

    def platforms_of(self, s: Scenario) -> set[str]:
        return {"meta"}

    def capture_one(self, s: Scenario, emit: Any, others: list | None = None) -> Capture:
        if others is not None:
            self.alone.append(s.id)
            self.windows[s.id] = (T0 + 100, T0 + 110)
        start, end = self.windows[s.id]
        # Each play creates new conversion IDs: conv-a-0 first, conv-a-1 when rerun.
        played = Played(conversions={"sale": {"conversion_id": f"conv-{s.id}-{len(self.alone)}"}})
        capture = Capture(s, played, {"meta"}, start, end, exclusive=others is not None)
        if others is not None:  # as the real runner: its window's requests are its own
            claim_exclusive(capture, self.journals[-1], others)
        return capture

    def judge(self, capture: Capture) -> ScenarioResult:
        ids = [e["id"] for e in capture.journal]
        return ScenarioResult(capture.scenario.id, "", "passed", evidence={"ids": ids})

    def journal_since(self, since: float) -> list[dict]:
        return self.journals[0] if len(self.journals) == 1 else self.journals.pop(0)


def entry(entry_id: int, ts: float, body: str = "{}") -> dict:
    return {"id": entry_id, "platform": "meta", "ts": ts, "body": body, "events": [],
            "method": "POST", "path": "/meta/v21.0/1/events", "status": 200}


def results(events: list) -> dict[str, ScenarioResult]:
    return {e.result.id: e.result for e in events if isinstance(e, ScenarioFinished)}


def test_identified_requests_need_no_rerun_and_leave_nothing_unclaimed() -> None:
    runner = FakeRunner({"a": (T0, T0 + 10), "b": (T0, T0 + 10)},
                        [entry(1, T0 + 1, "conv-a-0"), entry(2, T0 + 2, "conv-b-0")])

    out = results(list(_judge_all(runner, [scenario("a"), scenario("b")], 2, T0)))

    assert runner.alone == []
    assert {k: v.evidence["ids"] for k, v in out.items()} == {"a": [1], "b": [2]}


def test_an_unidentified_request_reruns_the_overlapping_scenarios_alone() -> None:
    first = [entry(1, T0 + 1, "conv-a-0"), entry(2, T0 + 5)]
    after = [*first, entry(3, T0 + 101)]
    runner = FakeRunner({"a": (T0, T0 + 10), "b": (T0 + 20, T0 + 30)}, first)
    runner.journals = [first, after, after]

    events = list(_judge_all(runner, [scenario("a"), scenario("b")], 2, T0))
    out = results(events)

    assert runner.alone == ["a"]
    assert any(isinstance(e, RunNote) and "1 scenario(s) rerun alone" in e.message
               for e in events)
    assert UNCLAIMED_ID not in out
    assert out["a"].evidence["ids"] == [3]
    assert out["b"].evidence["ids"] == []


def test_a_request_no_scenario_accounts_for_fails_the_run_as_run_001() -> None:
    journal = [entry(1, T0 + 1, "conv-a-0"), entry(2, T0 + 50)]
    runner = FakeRunner({"a": (T0, T0 + 10)}, journal)

    out = results(list(_judge_all(runner, [scenario("a")], 1, T0)))

    unclaimed = out[UNCLAIMED_ID]
    assert unclaimed.status == "failed"
    assert [f["rule"] for f in unclaimed.findings] == ["RUN-001"]
    assert unclaimed.findings[0]["evidence"]["journal_id"] == 2
