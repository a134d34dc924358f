"""The dashboard without a browser: pages render with labelled controls, the inspector's JSON
judges journal entries, and runs go through their states in the app's registry."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest

from conformance.results import (
    RunFinished,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
    ScenarioStarted,
)
from simulator.dashboard.runs import EXTENSION_KEY as RUNS_KEY
from simulator.dashboard.runs import Runs

PAGES = [
    ("/", ["Partner dashboard", "Advanced &gt; Postbacks", "Platform inspector"]),
    ("/advanced/postbacks", ["Postback URL", "{ } Add Macro", "Search macros", "Save",
                             "Fire test conversion", "{user_agent}"]),
    ("/links", ["Your tracking link", "Add Sub IDs", "Sub ID 5", "Simulate ad click"]),
    ("/conversions", ["Click (unique click ID)", "Payout", "Currency", "Delivery log"]),
    ("/inspector", ["Platform", "Live (updates as requests arrive)"]),
    ("/runs", ["Profile file", "paste the profile YAML", "Start run"]),
]


class Controls(HTMLParser):
    """Collects form controls and what labels them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"] or "")
        if tag in ("input", "select", "textarea", "button") and attributes.get("type") != "hidden":
            self.controls.append({"tag": tag, **attributes})


@pytest.mark.parametrize(("path", "texts"), PAGES, ids=[p for p, _ in PAGES])
def test_each_page_renders_with_its_menu_and_labels(client: Any, path: str,
                                                    texts: list[str]) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'aria-current="page"' in html
    for text in texts:
        assert text in html


@pytest.mark.parametrize("path", [p for p, _ in PAGES], ids=[p for p, _ in PAGES])
def test_every_control_on_a_page_has_an_accessible_name(client: Any, path: str) -> None:
    parser = Controls()
    parser.feed(client.get(path).get_data(as_text=True))
    unnamed = [
        c for c in parser.controls
        if c["tag"] != "button" and c.get("id") not in parser.label_for
        and not c.get("aria-label")
    ]
    assert unnamed == []


def test_the_postbacks_page_lists_the_fourteen_macros_once_in_the_picker(client: Any) -> None:
    html = client.get("/advanced/postbacks").get_data(as_text=True)
    assert html.count('role="option"') == 14


def _hashed_fbc_request(client: Any) -> None:
    now = 1_795_000_000
    event = {
        "event_name": "Purchase", "event_time": now, "action_source": "website",
        "event_source_url": "https://shop.example.com/thanks",
        "user_data": {"fbc": hashlib.sha256(b"fb.1.1795000000000.IwAR").hexdigest(),
                      "client_ip_address": "203.0.113.7", "client_user_agent": "Mozilla/5.0"},
    }
    client.post("/meta/v21.0/123/events?access_token=EAAtest123456", json={"data": [event]})


def test_the_inspector_api_judges_a_hashed_fbc_and_marks_the_field(client: Any) -> None:
    _hashed_fbc_request(client)
    body = client.get("/ui/api/inspector").get_json()
    assert body["last_id"] == 1
    [entry] = body["items"]
    assert "META-002" in {f["rule"] for f in entry["rule_findings"]}
    assert "data.0.user_data.fbc" in entry["marks"]
    assert client.get("/ui/api/inspector?after_id=1").get_json()["items"] == []


def test_the_inspector_api_refuses_an_unknown_platform(client: Any) -> None:
    response = client.get("/ui/api/inspector?platform=myspace")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "platform"


def _finished_run(*_args: Any) -> Iterator[Any]:
    result = ScenarioResult(
        "meta-happy-path", "Meta happy path", "failed", 0.5,
        findings=[{"rule": "META-002", "severity": "must", "platform": "meta",
                   "message": "data[0].user_data.fbc: expected the value in clear",
                   "doc_url": "https://developers.facebook.com/", "evidence": {}}],
    )
    yield RunStarted(total=1, sim_url="http://127.0.0.1:1")
    yield ScenarioStarted(result.id, result.title)
    yield ScenarioFinished(result)
    yield RunFinished(RunSummary([result], 0.5))


def _broken_run(*_args: Any) -> Iterator[Any]:
    raise ValueError("profile.yaml: postback_url: required")
    yield  # a generator, like the runner


def _wait_until_done(runs: Runs, run_id: int) -> dict[str, Any]:
    run = runs.get(run_id)
    assert run is not None
    assert run.done.wait(10)
    return run.as_dict()


@pytest.mark.parametrize(
    ("source", "state", "error"),
    [(_finished_run, "finished", None),
     (_broken_run, "error", "ValueError: profile.yaml: postback_url: required")],
    ids=["finished", "harness-error"],
)
def test_a_run_started_from_the_api_ends_finished_or_with_its_reason(
    app: Any, client: Any, source: Any, state: str, error: str | None
) -> None:
    app.extensions[RUNS_KEY] = Runs(source=source)
    started = client.post("/ui/api/runs", json={"profile_yaml": "postback_url: x\n",
                                                "scenarios": ["meta-happy-path"]})
    assert started.status_code == 202
    run = _wait_until_done(app.extensions[RUNS_KEY], started.get_json()["id"])
    assert run["state"] == state
    assert run["error"] == error
    assert client.get(f"/ui/api/runs/{run['id']}").get_json()["state"] == state


def test_a_finished_run_has_the_conformance_html_report(app: Any, client: Any) -> None:
    app.extensions[RUNS_KEY] = Runs(source=_finished_run)
    run_id = client.post("/ui/api/runs", json={"profile_path": "p.yaml"}).get_json()["id"]
    run = _wait_until_done(app.extensions[RUNS_KEY], run_id)
    assert run["counts"] == {"passed": 0, "failed": 1, "errors": 0, "skipped": 0}
    report = client.get(f"/runs/{run_id}/report").get_data(as_text=True)
    assert "META-002" in report
    assert "Run 1: finished" in client.get("/runs").get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ("not json", 400)],
    ids=["no-profile", "not-an-object"],
)
def test_starting_a_run_without_a_profile_is_refused(client: Any, body: Any, status: int) -> None:
    assert client.post("/ui/api/runs", json=body).status_code == status


def test_an_unknown_run_is_not_found(client: Any) -> None:
    assert client.get("/ui/api/runs/99").status_code == 404
    assert client.get("/runs/99/report").status_code == 404


def test_a_later_poll_reports_findings_only_for_the_new_request(client: Any) -> None:
    _hashed_fbc_request(client)
    _hashed_fbc_request(client)
    [entry] = client.get("/ui/api/inspector?after_id=1").get_json()["items"]
    assert entry["id"] == 2
    assert {f["evidence"]["journal_id"] for f in entry["rule_findings"]} == {2}
