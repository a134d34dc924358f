"""Network personas: how one affiliate network writes, sends and retries its postbacks.

Each persona is a data file, `fixtures/networks/<name>.yaml`, validated by
`fixtures/schemas/network.json`: its macro syntax and names (mapped onto the simulator's own
values), the encoding per macro, the method and body, the retry schedule with its deactivation
rule, the answer it expects and the statuses whose moves fire. A new persona needs no Python.
`inflektion`, the seed's network, is the default and behaves as the simulator always did.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

DEFAULT = "inflektion"
STATUSES = ("pending", "approved", "rejected", "reversed")


def _fixtures() -> Path:
    # The packaged data (issue 11) when installed; the repository's fixtures/ before that lands.
    try:
        from postback_sim_data import FIXTURES
    except ImportError:
        return Path(__file__).resolve().parents[1] / "fixtures"
    return Path(FIXTURES)


NETWORKS_DIR = _fixtures() / "networks"
SCHEMA_PATH = _fixtures() / "schemas" / "network.json"


class PersonaError(ValueError):
    """A persona file is invalid, or a persona name is unknown; str() is one line."""


@dataclass(frozen=True)
class PersonaMacro:
    """One macro of a persona: its name, the simulator value it returns, how it is encoded."""

    name: str
    value: str
    description: str
    encoding: str = "encoded"


@dataclass(frozen=True)
class Persona:
    """One network's postback dialect and delivery behaviour (see the module docstring)."""

    name: str
    title: str
    syntax: str
    macros: tuple[PersonaMacro, ...]
    method: str
    retry_schedule: tuple[float, ...]
    fires: frozenset[str]
    description: str = ""
    docs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    case_sensitive: bool = True
    unknown_macros: str = "literal"
    raw_prefix: str | None = None
    body_format: str | None = None
    sub_limits: dict[str, int] = field(default_factory=dict)
    deactivate_failures: int | None = None
    deactivate_window_hours: float | None = None
    expected_answer: dict[str, str] = field(default_factory=dict)
    status_values: dict[str, str] = field(default_factory=dict)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches one macro; group 1 is the name as written."""
        return _BRACE if self.syntax == "brace" else _HASH

    def placeholder(self, name: str) -> str:
        return "{" + name + "}" if self.syntax == "brace" else f"#{name}#"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.macros)

    @cached_property
    def _lookups(self) -> dict[str, tuple[PersonaMacro, bool] | None]:
        return {}

    def lookup(self, written: str) -> tuple[PersonaMacro, bool] | None:
        """The macro a name as written stands for, and whether it is substituted raw."""
        cache = self._lookups
        if written not in cache:
            cache[written] = self._lookup(written)
        return cache[written]

    def _lookup(self, written: str) -> tuple[PersonaMacro, bool] | None:
        raw = False
        name = written
        if self.raw_prefix and name.startswith(self.raw_prefix):
            found = self._find(name)
            if found is not None:
                return found, found.encoding == "raw"
            name, raw = name[len(self.raw_prefix):], True
        found = self._find(name)
        if found is None:
            return None
        return found, raw or found.encoding == "raw"

    def _find(self, name: str) -> PersonaMacro | None:
        for macro in self.macros:
            if macro.name == name:
                return macro
            if not self.case_sensitive and macro.name.lower() == name.lower():
                return macro
        return None

    def macro_for(self, value: str) -> PersonaMacro | None:
        """The persona's macro for one simulator value (an encoded one first), or None."""
        matches = [m for m in self.macros if m.value == value]
        matches.sort(key=lambda m: m.encoding != "encoded")
        return matches[0] if matches else None

    def status_text(self, status: str) -> str:
        """What the status macro carries for a conversion status."""
        return self.status_values.get(status, status)

    def translate(self, template: str) -> str:
        """A template written in the default persona's macros, rewritten in this one's.

        `{sub1}` becomes `{SubId1}` (Impact) or `#s1#` (CAKE); a value this persona has no macro
        for stays as written, and so is sent literally, as the network would.
        """
        def swap(match: re.Match[str]) -> str:
            macro = self.macro_for(match.group(1))
            return self.placeholder(macro.name) if macro else match.group(0)

        return _BRACE.sub(swap, template)

    def as_dict(self) -> dict[str, Any]:
        """The persona as the API and `postback-sim networks` show it."""
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "docs": list(self.docs), "notes": list(self.notes), "syntax": self.syntax,
            "case_sensitive": self.case_sensitive, "unknown_macros": self.unknown_macros,
            "raw_prefix": self.raw_prefix,
            "macros": [{"name": m.name, "placeholder": self.placeholder(m.name), "value": m.value,
                        "description": m.description, "encoding": m.encoding}
                       for m in self.macros],
            "sub_limits": dict(self.sub_limits), "method": self.method,
            "body_format": self.body_format, "retry_schedule_s": list(self.retry_schedule),
            "deactivate_after": ({"failures": self.deactivate_failures,
                                  "window_hours": self.deactivate_window_hours}
                                 if self.deactivate_failures else None),
            "expected_answer": dict(self.expected_answer),
            "lifecycle": {"fires": [s for s in STATUSES if s in self.fires],
                          "status_values": dict(self.status_values)},
        }


_BRACE = re.compile(r"\{([^{}]*)\}")
_HASH = re.compile(r"#([A-Za-z0-9_]+)#")


def from_mapping(data: Any, source: str = "persona") -> Persona:
    """Validate plain data against the schema and build a Persona; PersonaError names the key."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
        raise PersonaError(f"{source}: {where}: {first.message}")
    names = [m["name"] for m in data["macros"]]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise PersonaError(f"{source}: macros: {', '.join(duplicated)} defined twice")
    delivery, lifecycle = data["delivery"], data["lifecycle"]
    deactivate = delivery.get("deactivate_after") or {}
    return Persona(
        name=data["name"], title=data["title"], syntax=data["syntax"],
        macros=tuple(PersonaMacro(m["name"], m["value"], m["description"],
                                  m.get("encoding", "encoded")) for m in data["macros"]),
        method=delivery["method"],
        retry_schedule=tuple(float(s) for s in delivery["retry_schedule_s"]),
        fires=frozenset(lifecycle["fires"]),
        description=data.get("description", ""), docs=tuple(data["docs"]),
        notes=tuple(data.get("notes", ())), case_sensitive=data.get("case_sensitive", True),
        unknown_macros=data.get("unknown_macros", "literal"), raw_prefix=data.get("raw_prefix"),
        body_format=delivery.get("body_format"), sub_limits=dict(data.get("sub_limits", {})),
        deactivate_failures=deactivate.get("failures"),
        deactivate_window_hours=deactivate.get("window_hours"),
        expected_answer=dict(delivery.get("expected_answer", {})),
        status_values=dict(lifecycle.get("status_values", {})),
    )


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def load_file(path: Path) -> Persona:
    """Read one persona file; its `name` must be its file name."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PersonaError(f"{path.name}: {exc}") from None
    persona = from_mapping(data, path.name)
    if persona.name != path.stem:
        raise PersonaError(f"{path.name}: name: {persona.name!r} differs from the file name")
    return persona


@cache
def all_personas() -> dict[str, Persona]:
    """Every persona in fixtures/networks, by name (read once per process)."""
    return {p.stem: load_file(p) for p in sorted(NETWORKS_DIR.glob("*.yaml"))}


def get(name: str | None) -> Persona:
    """The named persona (the default for None); PersonaError lists the known ones."""
    personas = all_personas()
    try:
        return personas[name or DEFAULT]
    except KeyError:
        raise PersonaError(f"unknown network {name!r}; known: {', '.join(personas)}") from None


def names() -> list[str]:
    return list(all_personas())
