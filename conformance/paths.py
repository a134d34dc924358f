"""Where the bundled data lives: the repository's `fixtures/` and `scenarios/` folders.

The package is installed editable, so these are found relative to this file; nothing else in
`conformance` spells a data path.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"
SCHEMAS = FIXTURES / "schemas"
PROFILES = FIXTURES / "profiles"
RECEIVERS = FIXTURES / "receivers"
SCENARIOS = REPO_ROOT / "scenarios"


def schema_path(name: str) -> Path:
    """The JSON Schema `fixtures/schemas/<name>.json`."""
    return SCHEMAS / f"{name}.json"


def receiver_path(name: str = "reference") -> Path:
    """A bundled receiver program: `reference` or a faulty one such as `faulty/no_retry`
    (`<name>.py`, or `<name>.js` when only that exists)."""
    python = RECEIVERS / f"{name}.py"
    node = RECEIVERS / f"{name}.js"
    return node if node.exists() and not python.exists() else python
