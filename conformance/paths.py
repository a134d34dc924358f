"""Where the bundled data lives, for the suite: the `postback_sim_data` package (the repository's
top-level `fixtures/` and `scenarios/`, shipped inside the wheel). Nothing else in `conformance`
spells a data path.
"""

from __future__ import annotations

from pathlib import Path

from postback_sim_data import FIXTURES, PROFILES, RECEIVERS, SCENARIOS, SCHEMAS, schema_path

PROGRAM_SUFFIXES = (".py", ".js", ".java")  # the kinds of receiver program the suite starts

__all__ = ["FIXTURES", "PROFILES", "RECEIVERS", "SCENARIOS", "SCHEMAS", "receiver_path",
           "schema_path"]


def receiver_path(name: str = "reference") -> Path:
    """A bundled receiver program: `reference` or a faulty one such as `faulty/no_retry`
    (`<name>.py`, or `<name>.js` or `<name>.java` when only that exists); a path to an
    existing program file (`/tmp/my_receiver.py`) is taken as it is."""
    given = Path(name)
    if given.suffix in PROGRAM_SUFFIXES and given.is_file():
        return given
    python = RECEIVERS / f"{name}.py"
    if python.exists():
        return python
    others = [RECEIVERS / f"{name}{suffix}" for suffix in PROGRAM_SUFFIXES[1:]]
    return next((path for path in others if path.exists()), python)
