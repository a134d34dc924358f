"""Scenario scheduling: platforms are locked reader/writer style, so a fault armed for a platform
is only ever met by the scenario that armed it, while everything else runs side by side."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import responses

from conformance.paths import PROFILES
from conformance.profile import load_profile
from conformance.results import RunEvent, ScenarioFinished, ScenarioResult
from conformance.runner import (
    NETWORK_CLAIM,
    RunOptions,
    _run_scheduled,
    by_priority,
    claims_of,
    conflict,
)
from conformance.scenario import Scenario, scenario_from_mapping
from conformance.scenario_runner import ScenarioRunner
from conformance.simclient import SimClient

WAIT_S = 5.0  # upper bound for anything a test waits on; never reached when things work


def scenario(name: str, platforms: list[str], fault: str | None = None,
             conversions: int = 1) -> Scenario:
    steps: list[dict[str, Any]] = []
    if fault:
        steps.append({"fault": {"platform": fault, "kind": "status", "status": 500, "count": 1}})
    steps += [{"ad_click": {"as": "ad", "platform": platforms[0]}},
              {"click": {"as": "visit", "ad_click": "ad"}}]
    steps += [{"conversion": {"as": f"sale{n}", "click": "visit"}} for n in range(conversions)]
    return scenario_from_mapping({
        "id": name, "title": name, "description": name, "tags": [], "platforms": platforms,
        "steps": steps, "expect": {"events": []},
    }, "test")


def jobs(*scenarios: Scenario) -> list[tuple[Scenario, dict[str, bool]]]:
    return [(s, claims_of(s, set(s.platforms))) for s in scenarios]


class Recorder:
    """A run_one that records which scenarios ran at the same time; hooks run on start."""

    def __init__(self) -> None:
        self.active: set[str] = set()
        self.started: list[str] = []
        self.overlaps: set[frozenset[str]] = set()
        self.hooks: dict[str, Callable[[], None]] = {}
        self.started_event: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, name: str) -> threading.Event:
        with self._lock:
            return self.started_event.setdefault(name, threading.Event())

    def __call__(self, s: Scenario, emit: Callable[[RunEvent], None]) -> ScenarioResult:
        with self._lock:
            self.overlaps.update(frozenset({s.id, other}) for other in self.active)
            self.active.add(s.id)
            self.started.append(s.id)
        self.event(s.id).set()
        try:
            if s.id in self.hooks:
                self.hooks[s.id]()
        finally:
            with self._lock:
                self.active.discard(s.id)
        return ScenarioResult(s.id, s.title, "passed")

    def overlapped(self, a: str, b: str) -> bool:
        return frozenset({a, b}) in self.overlaps


def run_all(recorder: Recorder, scheduled: list[tuple[Scenario, dict[str, bool]]],
            workers: int = 4) -> list[str]:
    return [e.result.id for e in _run_scheduled(recorder, scheduled, workers)
            if isinstance(e, ScenarioFinished)]


@pytest.mark.parametrize(
    ("platforms", "fault", "claims"),
    [(["meta"], None, {"meta": False}),
     (["meta"], "meta", {"meta": True}),
     (["datamanager"], None, {"google": False}),
     (["google_ads"], "google_ads", {"google": True}),
     (["meta", "tiktok"], "tiktok", {"meta": False, "tiktok": True})],
    ids=["reader", "writer", "google-family-reader", "google-family-writer", "mixed"],
)
def test_a_scenario_claims_its_platform_families_exclusive_where_it_arms_faults(
    platforms: list[str], fault: str | None, claims: dict[str, bool]
) -> None:
    assert claims_of(scenario("s", platforms, fault), set(platforms)) == {
        **claims, NETWORK_CLAIM: False}


def test_a_scenario_that_runs_alone_starts_first_and_conflicts_with_every_other() -> None:
    alone = replace(scenario("alone", ["google_ads"]), alone=True)
    others = [scenario(f"s{n}", [platform]) for n, platform in
              enumerate(["meta", "tiktok", "datamanager", "meta"])]

    assert by_priority([*others, alone])[0] is alone
    (_, held), *rest = jobs(alone, *others)
    assert all(conflict(held, claims) for _, claims in rest)
    assert not any(conflict(a, b) for (_, a) in rest for (_, b) in rest)  # readers share


@pytest.mark.parametrize(
    ("a", "b", "conflicting"),
    [({"meta": False}, {"meta": False}, False),
     ({"meta": True}, {"meta": False}, True),
     ({"meta": True}, {"meta": True}, True),
     ({"meta": True}, {"tiktok": True}, False),
     ({"google": True}, {"google": False, "meta": False}, True)],
    ids=["two-readers", "writer-and-reader", "two-writers", "other-platforms", "shared-family"],
)
def test_scenarios_conflict_only_when_one_holds_exclusively_what_the_other_touches(
    a: dict[str, bool], b: dict[str, bool], conflicting: bool
) -> None:
    assert conflict(a, b) is conflicting
    assert conflict(b, a) is conflicting


def test_fault_scenarios_start_first_then_the_longest() -> None:
    small = scenario("small", ["meta"])
    burst = scenario("burst", ["meta"], conversions=20)
    fault = scenario("fault", ["tiktok"], fault="tiktok")

    assert [s.id for s in by_priority([small, burst, fault])] == ["fault", "burst", "small"]


def test_two_fault_scenarios_on_different_platforms_run_at_the_same_time() -> None:
    recorder = Recorder()
    both = threading.Barrier(2, timeout=WAIT_S)
    recorder.hooks = {"meta-fault": both.wait, "tiktok-fault": both.wait}

    done = run_all(recorder, jobs(scenario("meta-fault", ["meta"], "meta"),
                                  scenario("tiktok-fault", ["tiktok"], "tiktok")))

    assert sorted(done) == ["meta-fault", "tiktok-fault"]
    assert recorder.overlapped("meta-fault", "tiktok-fault")


def test_a_fault_scenario_never_overlaps_a_scenario_on_its_platform() -> None:
    recorder = Recorder()

    def fault_runs() -> None:
        # The later tiktok scenario starting shows the scheduler looked past the meta ones.
        assert recorder.event("tiktok").wait(WAIT_S)

    recorder.hooks = {"fault": fault_runs}
    scheduled = jobs(scenario("fault", ["meta"], "meta"), scenario("meta-1", ["meta"]),
                     scenario("meta-2", ["meta"]), scenario("tiktok", ["tiktok"]))

    done = run_all(recorder, scheduled)

    assert sorted(done) == ["fault", "meta-1", "meta-2", "tiktok"]
    assert recorder.overlapped("fault", "tiktok")
    assert not recorder.overlapped("fault", "meta-1")
    assert not recorder.overlapped("fault", "meta-2")
    assert recorder.started.index("meta-1") > recorder.started.index("tiktok")


def test_a_waiting_fault_scenario_is_not_overtaken_by_later_scenarios_on_its_platform() -> None:
    recorder = Recorder()

    def first_reader_runs() -> None:
        assert recorder.event("tiktok").wait(WAIT_S)

    recorder.hooks = {"meta-1": first_reader_runs}
    scheduled = jobs(scenario("meta-1", ["meta"]), scenario("fault", ["meta"], "meta"),
                     scenario("meta-2", ["meta"]), scenario("tiktok", ["tiktok"]))

    run_all(recorder, scheduled)

    assert set(recorder.started[:2]) == {"meta-1", "tiktok"}
    assert recorder.started[2:] == ["fault", "meta-2"]
    assert not recorder.overlapped("fault", "meta-1")
    assert not recorder.overlapped("fault", "meta-2")


def test_never_more_scenarios_run_at_once_than_there_are_lanes() -> None:
    recorder = Recorder()
    scheduled = jobs(*(scenario(f"s{n}", ["meta"]) for n in range(6)))

    done = run_all(recorder, scheduled, workers=1)

    assert sorted(done) == [f"s{n}" for n in range(6)]
    assert recorder.overlaps == set()


@responses.activate
def test_a_fault_scenario_clears_only_its_own_platforms_faults_when_it_ends() -> None:
    cleared = responses.delete("http://sim.test/api/faults")
    profile = load_profile(PROFILES / "reference.yaml")
    runner = ScenarioRunner(SimClient("http://sim.test"), profile, RunOptions(settle_seconds=0))

    def broken(_: Scenario, __: object) -> ScenarioResult:
        raise RuntimeError("harness bug")

    runner._capture = broken  # type: ignore[method-assign]
    result = runner.capture_one(scenario("fault", ["meta"], "meta"), lambda _: None)

    assert result.status == "error"
    assert [c.request.url for c in cleared.calls] == ["http://sim.test/api/faults?platform=meta"]


@responses.activate
def test_many_deliveries_are_read_from_listing_pages_until_the_oldest_wanted_one() -> None:
    # Newest first, two pages of 500 (ids 1000..501, 500..1); ids 3..2 need the second page.
    page = [{"id": n, "status": "delivered"} for n in range(1000, 0, -1)]
    listing = [responses.get("http://sim.test/api/deliveries", json={"deliveries": chunk},
                             match=[responses.matchers.query_param_matcher(
                                 {"limit": "500", "offset": str(offset)})])
               for offset, chunk in ((0, page[:500]), (500, page[500:]))]

    rows = SimClient("http://sim.test").deliveries([999, 3, 600, 2, 1000])

    assert [r["id"] for r in rows] == [999, 3, 600, 2, 1000]
    assert [call.call_count for call in listing] == [1, 1]


@responses.activate
def test_a_few_deliveries_are_read_one_by_one() -> None:
    for n in (7, 8):
        responses.get(f"http://sim.test/api/deliveries/{n}", json={"id": n})

    assert SimClient("http://sim.test").deliveries([8, 7]) == [{"id": 8}, {"id": 7}]
