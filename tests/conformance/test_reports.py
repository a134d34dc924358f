"""The reports as a user and CI read them: the console, the JSON contract, JUnit XML, HTML."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.reporters import ConsoleReporter, write_html, write_json, write_junit
from conformance.results import (
    RunFinished,
    RunStarted,
    RunSummary,
    ScenarioFinished,
    ScenarioResult,
)

DOC = ("https://developers.facebook.com/documentation/ads-commerce/conversions-api/parameters/"
       "fbp-and-fbc")
DIGEST = "43829811f8cac82000f4d654ecc654e061af5a91fde8a8523284bb0178c71621"
FINDING = {
    "rule": "META-002", "severity": "must", "platform": "meta",
    "message": f"data[0].user_data.fbc: expected the value in clear (never hashed), got "
               f"'{DIGEST}' (a SHA-256 digest)",
    "doc_url": DOC,
    "evidence": {"journal_id": 7, "event_index": 0, "field": "data[0].user_data.fbc",
                 "expected": "the value in clear (never hashed)", "received": DIGEST},
}
BODY = {"data": [{"event_name": "Purchase", "event_time": 1795489335, "event_id": "t-1",
                  "user_data": {"fbc": DIGEST, "client_ip_address": "198.18.100.101"}}]}
EVIDENCE = {
    "deliveries": [{"id": 3, "status": "delivered",
                    "url": "http://127.0.0.1:9000/postback?click_id=IwAR1&source=facebook",
                    "attempts": [{"number": 1, "status_code": 200, "latency_ms": 29.0,
                                  "response_body": "forwarded to meta: 200"}]}],
    "journal": [{"id": 7, "platform": "meta", "method": "POST",
                 "path": "/meta/v21.0/1234567890/events", "status": 200,
                 "body": json.dumps(BODY), "response": {"events_received": 1},
                 "events": [{"field_prefix": "data[0]", "attribution": {"status": "absent"}}]}],
}


def summary() -> RunSummary:
    return RunSummary([
        ScenarioResult("meta-happy-path", "Meta happy path", "failed", 1.18, [FINDING],
                       description=f"One Meta event with a clear fbc.\n{DOC}",
                       evidence=EVIDENCE),
        ScenarioResult("missing-fbclid", "Missing fbclid is never fabricated", "passed", 1.1),
        ScenarioResult("tiktok-happy-path", "TikTok happy path", "skipped",
                       error="the profile lists none of tiktok"),
        ScenarioResult("burst-200-conversions", "A burst", "error", 0.5,
                       error="simulator unreachable at http://127.0.0.1:8000: refused"),
    ], duration_s=3.2)


def test_json_report_is_exactly_the_contract(tmp_path: Path) -> None:
    write_json(summary(), tmp_path / "out.json")
    report = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert report["summary"] == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    assert set(report) == {"summary", "scenarios"}
    for record in report["scenarios"]:
        assert set(record) == {"id", "title", "status", "duration_s", "findings"}
        assert record["status"] in {"passed", "failed", "error", "skipped"}
    failed = report["scenarios"][0]
    assert failed["findings"][0].keys() == {"rule", "severity", "platform", "message",
                                            "doc_url", "evidence"}


def test_junit_has_one_testcase_per_scenario_with_findings_in_the_failure(
    tmp_path: Path,
) -> None:
    write_junit(summary(), tmp_path / "out.xml")
    suite = ET.parse(tmp_path / "out.xml").getroot()
    assert suite.tag == "testsuite"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("4", "1", "1", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["meta-happy-path", "missing-fbclid", "tiktok-happy-path",
                           "burst-200-conversions"]
    failure = cases["meta-happy-path"].find("failure")
    assert "[META-002] data[0].user_data.fbc: expected" in failure.text
    assert DOC in failure.text
    assert cases["missing-fbclid"].find("failure") is None
    assert cases["tiktok-happy-path"].find("skipped") is not None
    assert "simulator unreachable" in cases["burst-200-conversions"].find("error").text


def test_html_report_is_self_contained_and_marks_the_offending_field(tmp_path: Path) -> None:
    write_html(summary(), tmp_path / "out.html")
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    loaded = re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="([^"]+)"', page)
    assert loaded == []
    assert "@import" not in page
    assert "url(" not in page
    marked = re.findall(r'<mark title="data\.0\.user_data\.fbc">(.*?)</mark>', page)
    assert marked == [f"&#34;{DIGEST}&#34;"] or marked == [f"&quot;{DIGEST}&quot;"]
    assert "/postback?click_id=IwAR1" in page  # the postback the network sent
    assert "forwarded to meta: 200" in page  # the receiver's answer
    assert f'href="{DOC}"' in page


def console_output(events: list) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    reporter = ConsoleReporter(out, color=False, errors=err)
    for event in events:
        reporter.handle(event)
    return out.getvalue(), err.getvalue()


def test_console_prints_a_line_per_scenario_then_each_failure_in_full() -> None:
    run = summary()
    events = [RunStarted(4, "http://127.0.0.1:8000", receiver="127.0.0.1:9000"),
              *(ScenarioFinished(r) for r in run.results), RunFinished(run)]
    out, err = console_output(events)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == ("postback-sim: running 4 scenario(s) against the receiver at "
                        "127.0.0.1:9000 (simulator http://127.0.0.1:8000)")
    assert re.match(r"\[1/4\] FAIL +meta-happy-path +1\.18s +Meta happy path$", lines[1])
    assert re.match(r"\[3/4\] SKIP +tiktok-happy-path +0\.00s +skipped: the profile lists "
                    r"none of tiktok$", lines[3])
    failure = out.split("FAIL meta-happy-path: Meta happy path\n", 1)[1]
    assert failure.startswith("  [META-002] (must, meta) data[0].user_data.fbc: expected the "
                              "value in clear (never hashed), got '4382")
    assert f"      {DOC}\n" in failure
    assert lines[-1] == "1 passed, 1 failed, 1 errors, 1 skipped in 3.2s"


@pytest.mark.parametrize("total", [1, 31], ids=["one-scenario", "whole-catalogue"])
def test_console_says_an_aborted_run_in_one_line_however_many_scenarios(total: int) -> None:
    reason = "receiver unreachable at 127.0.0.1:9999 (from p.yaml postback_url): refused"
    errors = [ScenarioResult(f"s{i}", "t", "error", error=reason) for i in range(total)]
    events = [RunStarted(total, "http://127.0.0.1:8000", aborted=reason),
              *(ScenarioFinished(r) for r in errors), RunFinished(RunSummary(errors))]
    out, err = console_output(events)
    assert out == ""
    assert err == f"postback-sim: error: {reason}\n"
