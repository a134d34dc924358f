"""The conformance rules: every rule registered with a stable ID, severity and doc URL.

`all_rules`, `get_rule` and `run_rules` read the default registry, built once from the platform
modules when this package is imported (duplicate IDs fail the import).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.context import ScenarioContext
from conformance.findings import Finding
from conformance.rules import (
    datamanager,
    destination,
    families,
    google_ads,
    meta,
    network_answer,
    pixel_dedup,
    postback,
    retries,
    tiktok,
)
from conformance.rules.registry import Registry, Rule, RuleDefinitionError, rule

__all__ = [
    "DEFAULT_REGISTRY",
    "Registry",
    "Rule",
    "RuleDefinitionError",
    "all_rules",
    "get_rule",
    "rule",
    "run_rules",
]

DEFAULT_REGISTRY = Registry.from_modules(
    families, meta, tiktok, google_ads, datamanager, postback, destination, retries,
    pixel_dedup, network_answer,
)


def all_rules() -> list[Rule]:
    """Every registered rule, ordered by ID."""
    return DEFAULT_REGISTRY.all()


def get_rule(rule_id: str) -> Rule:
    """The rule with this ID (KeyError for an unknown one)."""
    return DEFAULT_REGISTRY.get(rule_id)


def run_rules(
    ctx: ScenarioContext,
    platforms: Iterable[str] | None = None,
    rule_ids: Iterable[str] | None = None,
) -> list[Finding]:
    """Apply the rules for the platforms in play (cross-platform ones always) to one scenario."""
    return DEFAULT_REGISTRY.run(ctx, platforms, rule_ids)
