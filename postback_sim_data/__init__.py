"""The data postback-sim ships: the scenario catalogue, JSON Schemas, sample profiles, receivers.

In the repository `scenarios/` and `fixtures/` here are symbolic links to the top-level folders,
the one copy contributors edit; a wheel holds the files themselves. Code reaches them only
through this module, which finds them with `importlib.resources`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["FIXTURES", "PROFILES", "RECEIVERS", "SCENARIOS", "SCHEMAS", "schema_path"]


def _root() -> Path:
    # Receivers run as programs and schemas are read by path, so the data must be real files
    # (pip always installs a wheel unpacked).
    root = resources.files(__name__)
    if not isinstance(root, Path):
        raise RuntimeError(f"postback-sim's data must be installed as files, not inside {root}")
    return root


FIXTURES = _root() / "fixtures"
SCHEMAS = FIXTURES / "schemas"
PROFILES = FIXTURES / "profiles"
RECEIVERS = FIXTURES / "receivers"
SCENARIOS = _root() / "scenarios"


def schema_path(name: str) -> Path:
    """The JSON Schema `fixtures/schemas/<name>.json`."""
    return SCHEMAS / f"{name}.json"
