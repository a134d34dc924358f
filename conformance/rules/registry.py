"""Rule records, the `@rule` decorator, and the immutable `Registry` that runs them.

A rule is a record plus a pure check function (bandit's test IDs, schemathesis' checks). The
decorator validates the record when its module is imported; a `Registry` is built once from
rule records and refuses duplicate IDs, so a mistake fails at import, not in a report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

from conformance.findings import Finding, Violation, evidence_of

PLATFORMS = frozenset({"meta", "tiktok", "google_ads", "datamanager", "any"})
SEVERITIES = frozenset({"must", "should", "info"})
RULE_ID = re.compile(r"^(META|TIKTOK|GADS|DM|PB|RETRY)-\d{3}$")

Check = Callable[[Any], Iterable[Violation | Finding]]


class RuleDefinitionError(ValueError):
    """A rule record is malformed or clashes with another; raised at import time."""


@dataclass(frozen=True)
class Rule:
    """One requirement: stable ID, where it applies, how bad a breach is, and its source."""

    id: str
    platform: str
    severity: str
    summary: str
    doc_url: str
    check: Check

    def __post_init__(self) -> None:
        problems = []
        if not RULE_ID.match(self.id):
            problems.append(f"id {self.id!r} does not match {RULE_ID.pattern}")
        if self.platform not in PLATFORMS:
            problems.append(f"platform {self.platform!r} is not one of {sorted(PLATFORMS)}")
        if self.severity not in SEVERITIES:
            problems.append(f"severity {self.severity!r} is not one of {sorted(SEVERITIES)}")
        if not self.summary.strip() or "\n" in self.summary:
            problems.append("summary must be one non-empty line")
        if not self.doc_url.startswith("https://"):
            problems.append(f"doc_url {self.doc_url!r} must be an https:// URL")
        if problems:
            raise RuleDefinitionError(f"rule {self.id}: " + "; ".join(problems))

    def __call__(self, ctx: Any) -> Iterator[Finding]:
        """Run the check, turning each violation into a finding carrying this rule's record."""
        for item in self.check(ctx):
            if isinstance(item, Finding):
                yield item
                continue
            yield Finding(
                rule=self.id,
                severity=self.severity,
                platform=self.platform,
                message=item.message,
                doc_url=self.doc_url,
                evidence=evidence_of(item),
            )


def rule(
    *, id: str, platform: str, severity: str, doc_url: str, summary: str | None = None
) -> Callable[[Check], Rule]:
    """Decorate a check function (ctx -> violations) into a validated `Rule` record.

    Without `summary`, the first line of the function's docstring is the one-line requirement.
    """

    def wrap(check: Check) -> Rule:
        text = summary or (check.__doc__ or "").strip().split("\n")[0].rstrip(".")
        return Rule(id, platform, severity, text, doc_url, check)

    return wrap


class Registry:
    """An immutable set of rules keyed by ID; duplicates are refused on construction."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        by_id: dict[str, Rule] = {}
        for item in rules:
            if item.id in by_id and by_id[item.id] is not item:
                raise RuleDefinitionError(f"duplicate rule id {item.id}")
            by_id[item.id] = item
        self._rules = MappingProxyType(dict(sorted(by_id.items())))

    @classmethod
    def from_modules(cls, *modules: ModuleType) -> Registry:
        """Collect every `Rule` (or tuple of rules) defined at the top level of these modules."""
        found: list[Rule] = []
        for module in modules:
            for value in vars(module).values():
                if isinstance(value, Rule):
                    found.append(value)
                elif isinstance(value, tuple):
                    found.extend(v for v in value if isinstance(v, Rule))
        return cls(found)

    def all(self) -> list[Rule]:
        """Every rule, ordered by ID."""
        return list(self._rules.values())

    def get(self, rule_id: str) -> Rule:
        """The rule with this ID; KeyError names the unknown ID."""
        try:
            return self._rules[rule_id]
        except KeyError:
            raise KeyError(f"unknown rule id {rule_id!r}") from None

    def select(
        self, platforms: Iterable[str] | None = None, rule_ids: Iterable[str] | None = None
    ) -> list[Rule]:
        """Rules for the platforms in play (cross-platform rules always) and/or by ID."""
        chosen = self.all() if rule_ids is None else [self.get(r) for r in rule_ids]
        if platforms is None:
            return chosen
        wanted = set(platforms) | {"any"}
        return [r for r in chosen if r.platform in wanted]

    def run(
        self,
        ctx: Any,
        platforms: Iterable[str] | None = None,
        rule_ids: Iterable[str] | None = None,
    ) -> list[Finding]:
        """Apply the selected rules; a rule that raises yields one `error` finding instead."""
        findings: list[Finding] = []
        for item in self.select(platforms, rule_ids):
            try:
                found = list(item(ctx))
            except Exception as exc:  # a broken rule must not hide the other rules' verdicts
                findings.append(
                    Finding(
                        rule=item.id,
                        severity="error",
                        platform=item.platform,
                        message=f"rule raised {type(exc).__name__}: {exc}",
                        doc_url=item.doc_url,
                        evidence={},
                    )
                )
            else:
                findings.extend(found)
        return findings
