"""JUnit XML: one testcase per scenario, the findings in the failure text, for CI dashboards."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.reporters.atomic_file import write_atomically
from conformance.results import RunSummary, ScenarioResult


def finding_lines(result: ScenarioResult) -> list[str]:
    """`[RULE] message (doc)` per finding: the text CI shows for a failed scenario."""
    return [
        f"[{f.get('rule')}] {f.get('message')}" + (f" {f['doc_url']}" if f.get("doc_url") else "")
        for f in result.findings
    ]


def junit_tree(summary: RunSummary) -> ET.ElementTree:
    counts = summary.counts()
    suite = ET.Element(
        "testsuite",
        {
            "name": "postback-sim",
            "tests": str(len(summary.results)),
            "failures": str(counts["failed"]),
            "errors": str(counts["errors"]),
            "skipped": str(counts["skipped"]),
            "time": f"{summary.duration_s:.3f}",
        },
    )
    for result in summary.results:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "postback-sim.scenarios", "name": result.id,
             "time": f"{result.duration_s:.3f}"},
        )
        lines = finding_lines(result)
        if result.status == "failed":
            first = lines[0] if lines else "scenario failed"
            node = ET.SubElement(case, "failure", {"message": first, "type": "conformance"})
            node.text = "\n".join(lines)
        elif result.status == "error":
            node = ET.SubElement(case, "error", {"message": result.error or "harness error"})
            node.text = "\n".join([result.error or "", *lines]).strip()
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", {"message": result.error or "not applicable"})
        if result.description:
            ET.SubElement(case, "system-out").text = result.description
    ET.indent(suite)
    return ET.ElementTree(suite)


def write_junit(summary: RunSummary, path: str | Path) -> None:
    root = junit_tree(summary).getroot()
    write_atomically(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
