"""Tying a run's requests to scenarios: by identifiers, by rerunning alone, else RUN-001."""

from __future__ import annotations

from conformance.claims import Capture, claim_exclusive, reconcile, unclaimed_findings
from conformance.scenario import Scenario
from conformance.steps import Played

T0 = 1_800_000_000.0


def capture(sid: str, platforms: set[str], start: float, end: float, *, click_id: str,
            conversion_id: str, ip: str) -> Capture:
    played = Played(
        ad_clicks={"ad": {"id": hash(sid) % 1000, "click_id": click_id}},
        conversions={"sale": {"conversion_id": conversion_id}},
        ips={ip},
    )
    scenario = Scenario(sid, sid, "", [], sorted(platforms), [], {})
    return Capture(scenario, played, platforms, start, end)


def entry(entry_id: int, platform: str, ts: float, body: str, api: str = "capi") -> dict:
    return {"id": entry_id, "platform": platform, "api": api, "ts": ts, "body": body,
            "events": [], "method": "POST", "path": "/", "status": 200}


def two_meta_scenarios() -> tuple[Capture, Capture]:
    a = capture("a", {"meta"}, T0, T0 + 10, click_id="IwARaaaaaaaaaa", conversion_id="conv-a",
                ip="198.18.100.100")
    b = capture("b", {"meta"}, T0 + 5, T0 + 15, click_id="IwARbbbbbbbbbb",
                conversion_id="conv-b", ip="198.18.100.101")
    return a, b


def test_a_request_carrying_one_scenarios_identifier_is_that_scenarios_even_late() -> None:
    a, b = two_meta_scenarios()
    plan = reconcile([a, b], [entry(1, "meta", T0 + 7, '{"fbc": "fb.1.1.IwARaaaaaaaaaa"}'),
                              entry(2, "meta", T0 + 99, '{"event_id": "conv-b"}')])

    assert plan.rerun == {}
    assert plan.unclaimed == []
    assert [e["id"] for e in a.journal] == [1]
    assert [e["id"] for e in b.journal] == [2]


def test_a_request_with_no_identifier_reruns_every_scenario_whose_window_it_fell_in() -> None:
    a, b = two_meta_scenarios()
    tiktok = capture("t", {"tiktok"}, T0, T0 + 20, click_id="E.C.P.xxxxxxxx",
                     conversion_id="conv-t", ip="198.18.100.102")

    plan = reconcile([a, b, tiktok], [entry(1, "meta", T0 + 3, '{"fbc": "{fbclid}"}'),
                                      entry(2, "meta", T0 + 8, '{"fbc": "{fbclid}"}')])

    assert plan.rerun == {"a": [1, 2], "b": [2]}
    assert a.journal == []
    assert b.journal == []


def test_a_request_carrying_two_scenarios_identifiers_reruns_both() -> None:
    a, b = two_meta_scenarios()

    plan = reconcile([a, b], [entry(1, "meta", T0 + 30, "conv-a conv-b")])

    assert sorted(plan.rerun) == ["a", "b"]


def test_a_request_outside_every_window_is_unclaimed_and_becomes_run_001() -> None:
    a, b = two_meta_scenarios()
    stray = entry(1, "meta", T0 + 60, '{"fbc": "{fbclid}"}')

    plan = reconcile([a, b], [stray])
    findings = unclaimed_findings([(e, None) for e in plan.unclaimed], [a, b])

    assert plan.unclaimed == [stray]
    assert [f.rule for f in findings] == ["RUN-001"]
    assert findings[0].severity == "must"
    assert "belongs to no scenario" in findings[0].message


def test_a_scenario_running_alone_takes_its_window_but_not_other_scenarios_requests() -> None:
    a, b = two_meta_scenarios()
    alone = capture("a", {"meta"}, T0 + 100, T0 + 110, click_id="IwARcccccccccc",
                    conversion_id="conv-a2", ip="198.18.100.103")
    entries = [entry(1, "meta", T0 + 101, "{}"),
               entry(2, "tiktok", T0 + 102, "{}"),
               entry(3, "meta", T0 + 103, "conv-b"),
               entry(4, "meta", T0 + 130, "{}")]

    claim_exclusive(alone, entries, [a, b])

    assert [e["id"] for e in alone.journal] == [1, 2]


def test_pixel_events_a_scenario_recorded_are_kept_apart_from_its_requests() -> None:
    a, _ = two_meta_scenarios()
    a.played.browser_event_ids.add(7)

    reconcile([a], [entry(7, "meta", T0 + 1, '{"event_id": "px-1"}', api="pixel")])

    assert a.journal == []
    assert [e["id"] for e in a.browser_events] == [7]


def test_a_batch_mixing_two_scenarios_events_is_split_between_them() -> None:
    a, b = two_meta_scenarios()
    batch = entry(1, "meta", T0 + 7, "{}")
    batch["events"] = [{"index": 0, "raw": {"fbc": "fb.1.1.IwARaaaaaaaaaa"}},
                       {"index": 1, "raw": {"event_id": "conv-b"}}]

    plan = reconcile([a, b], [batch])

    assert plan.rerun == {}
    assert [ev["index"] for ev in a.journal[0]["events"]] == [0]
    assert [ev["index"] for ev in b.journal[0]["events"]] == [1]
    assert a.parts() == {(1, 0)}


def test_running_alone_leaves_a_late_event_of_another_scenario_in_the_batch() -> None:
    a, b = two_meta_scenarios()
    alone = capture("b", {"meta"}, T0 + 100, T0 + 110, click_id="IwARdddddddddd",
                    conversion_id="conv-b2", ip="198.18.100.104")
    batch = entry(2, "meta", T0 + 101, "{}")
    batch["events"] = [{"index": 0, "raw": {"event_id": "conv-a"}},
                       {"index": 1, "raw": {"event_id": "no identifier"}}]

    claim_exclusive(alone, [batch], [a, b])

    assert alone.parts() == {(2, 1)}
