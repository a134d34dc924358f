"""The rule registry: validated records, unique stable IDs, selection, and fault isolation."""

from __future__ import annotations

import re

import pytest

from conformance.findings import Finding, Violation
from conformance.rules import all_rules, get_rule, run_rules
from conformance.rules.registry import Registry, Rule, RuleDefinitionError, rule

# Rule IDs are a public contract (reports, suppressions): they may be added, never renumbered.
STABLE_IDS = (
    [f"META-{n:03d}" for n in range(1, 24)]
    + [f"TIKTOK-{n:03d}" for n in range(1, 18)]
    + [f"GADS-{n:03d}" for n in range(1, 13)]
    + [f"DM-{n:03d}" for n in range(1, 12)]
    + ["PB-001", "PB-002", "PB-003", "RETRY-001"]
)


def make(rule_id: str = "META-900", doc_url: str = "https://example.test/doc", **kw) -> Rule:
    fields = {"platform": "meta", "severity": "must", "summary": "A requirement"} | kw
    return rule(id=rule_id, doc_url=doc_url, **fields)(lambda ctx: iter(()))


def test_registry_refuses_a_duplicate_rule_id() -> None:
    with pytest.raises(RuleDefinitionError, match="duplicate rule id META-900"):
        Registry([make(), make()])


@pytest.mark.parametrize(
    "doc_url",
    ["", "http://example.test/doc", "example.test"],
    ids=["missing", "plain-http", "no-scheme"],
)
def test_rule_refuses_a_missing_or_non_https_doc_url(doc_url: str) -> None:
    with pytest.raises(RuleDefinitionError, match="doc_url"):
        make(doc_url=doc_url)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rule_id": "META-1"}, "id"),
        ({"platform": "snapchat"}, "platform"),
        ({"severity": "fatal"}, "severity"),
        ({"summary": "two\nlines"}, "summary"),
    ],
    ids=["bad-id", "unknown-platform", "unknown-severity", "multi-line-summary"],
)
def test_rule_refuses_a_malformed_record(changes: dict, field: str) -> None:
    with pytest.raises(RuleDefinitionError, match=field):
        make(**changes)


def test_registered_rule_ids_are_the_stable_catalogue() -> None:
    assert [r.id for r in all_rules()] == sorted(STABLE_IDS)


def test_every_rule_has_an_https_doc_url_and_a_one_line_summary() -> None:
    for item in all_rules():
        assert item.doc_url.startswith("https://"), item.id
        assert re.fullmatch(r"[^\n]{10,120}", item.summary), item.id


def test_get_rule_returns_the_record_and_names_an_unknown_id() -> None:
    assert get_rule("META-001").platform == "meta"
    with pytest.raises(KeyError, match="NOPE-001"):
        get_rule("NOPE-001")


def test_run_rules_applies_only_rules_for_platforms_in_play(scenario) -> None:
    conversion = scenario.converted("meta")
    scenario.send("meta", conversion, event_id=None)
    scenario.send("tiktok", scenario.converted("tiktok"), **{"user.ttclid": "undefined"})

    rules_hit = {f.rule for f in run_rules(scenario.ctx, platforms=["tiktok"])}

    assert "META-009" not in rules_hit
    assert "PB-001" in rules_hit  # cross-platform rules always run


def test_run_rules_by_id_runs_only_those(scenario) -> None:
    scenario.send(
        "meta", scenario.converted("meta"), event_id=None, event_time=int(scenario.NOW) * 1000
    )

    found = run_rules(scenario.ctx, rule_ids=["META-009"])

    assert {f.rule for f in found} == {"META-009"}


def test_a_rule_that_raises_yields_an_error_finding_and_the_others_still_run() -> None:
    def broken(ctx):
        yield Violation(field="x", expected="y", received="z")
        raise RuntimeError("boom")

    def fine(ctx):
        yield Violation(field="data[0].a", expected="b", received="c", journal_id=7)

    registry = Registry(
        [
            rule(
                id="PB-900",
                platform="any",
                severity="must",
                summary="Broken",
                doc_url="https://example.test/a",
            )(broken),
            rule(
                id="PB-901",
                platform="any",
                severity="should",
                summary="Fine",
                doc_url="https://example.test/b",
            )(fine),
        ]
    )

    found = registry.run(object())

    assert [(f.rule, f.severity) for f in found] == [("PB-900", "error"), ("PB-901", "should")]
    assert found[0].message == "rule raised RuntimeError: boom"
    assert found[1] == Finding(
        rule="PB-901",
        severity="should",
        platform="any",
        message="data[0].a: expected b, got 'c'",
        doc_url="https://example.test/b",
        evidence={
            "journal_id": 7,
            "event_index": None,
            "field": "data[0].a",
            "expected": "b",
            "received": "c",
        },
    )


def test_finding_to_dict_has_the_json_report_keys() -> None:
    record = Rule(
        "META-901",
        "meta",
        "must",
        "Summary line",
        "https://example.test",
        lambda ctx: [Violation("f", "e", None)],
    )

    finding = next(iter(record(None)))

    assert finding.to_dict() == {
        "rule": "META-901",
        "severity": "must",
        "platform": "meta",
        "message": "f: expected e, got null",
        "doc_url": "https://example.test",
        "evidence": {
            "journal_id": None,
            "event_index": None,
            "field": "f",
            "expected": "e",
            "received": None,
        },
    }


def test_the_rules_package_exports_exactly_its_public_api() -> None:
    import conformance.rules

    assert sorted(conformance.rules.__all__) == [
        "DEFAULT_REGISTRY",
        "Registry",
        "Rule",
        "RuleDefinitionError",
        "all_rules",
        "get_rule",
        "rule",
        "run_rules",
    ]


def test_summary_defaults_to_the_first_docstring_line() -> None:
    @rule(id="DM-900", platform="datamanager", severity="info", doc_url="https://example.test")
    def check(ctx):
        """Something holds.

        More detail that is not the summary.
        """
        return iter(())

    assert check.summary == "Something holds"
