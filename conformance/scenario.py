"""Scenarios: one YAML file each in `scenarios/`, validated with fixtures/schemas/scenario.json.

A scenario is data: named steps (ad click, tracking-link click, conversion, event, redelivery,
platform fault, repeat) and expectations. Loading flattens `repeat` blocks and checks that every
name a step refers to was defined earlier, so the runner never meets a dangling reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from conformance.errors import ConformanceError
from conformance.paths import SCENARIOS
from conformance.schemas import SchemaError, check
from simulator import personas

# Which earlier step kinds each reference field must name.
REFERENCES = {
    ("click", "ad_click"): ("ad_click",),
    ("conversion", "click"): ("click",),
    ("event", "conversion"): ("conversion",),
    ("redeliver", "conversion"): ("conversion", "event"),
    ("status", "conversion"): ("conversion", "event"),
}


class ScenarioError(ConformanceError, ValueError):
    """A scenario file is unusable; str() is one line naming the file and the key path."""


@dataclass(frozen=True)
class Step:
    """One flattened step: its kind and its fields (`as` names what it creates)."""

    kind: str
    args: dict[str, Any]

    @property
    def name(self) -> str | None:
        return self.args.get("as")


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its steps flattened."""

    id: str
    title: str
    description: str
    tags: list[str]
    platforms: list[str]
    steps: list[Step]
    expect: dict[str, Any]
    doc_url: str = ""
    settings: dict[str, float] = field(default_factory=dict)
    timeout_s: float = 15.0
    path: Path | None = None
    networks: list[str] = field(default_factory=list)
    alone: bool = False

    @property
    def fault_platforms(self) -> set[str]:
        """Platforms this scenario arms faults on; it must run alone there."""
        return {s.args["platform"] for s in self.steps if s.kind == "fault"}

    @property
    def needs_event_id_sub(self) -> bool:
        """A browser pixel event is played: the profile must name the Sub ID carrying its ID."""
        return any(s.kind == "click" and s.args.get("pixel_event") for s in self.steps)

    @property
    def own_subs(self) -> set[str]:
        """Sub ID slots the scenario's clicks fill themselves (`subs:`)."""
        return {sub for s in self.steps if s.kind == "click" for sub in s.args.get("subs") or {}}

    def names(self, *kinds: str) -> list[str]:
        """Names created by steps of these kinds, in order."""
        return [s.name for s in self.steps if s.kind in kinds and s.name]


def _flatten(steps: Iterable[Mapping[str, Any]], suffix: str = "") -> list[Step]:
    flat: list[Step] = []
    for raw in steps:
        ((kind, args),) = raw.items()
        if kind == "repeat":
            local = _names_in(args["steps"])
            for round_ in range(1, args["times"] + 1):
                renamed = [_rename(s, local, f"{suffix}#{round_}") for s in args["steps"]]
                flat.extend(_flatten(renamed, ""))
            continue
        flat.append(Step(kind, dict(args)))
    return flat


def _names_in(steps: Iterable[Mapping[str, Any]]) -> set[str]:
    names: set[str] = set()
    for raw in steps:
        ((kind, args),) = raw.items()
        if kind == "repeat":
            names |= _names_in(args["steps"])
        elif "as" in args:
            names.add(args["as"])
    return names


def _rename(raw: Mapping[str, Any], local: set[str], suffix: str) -> dict[str, Any]:
    ((kind, args),) = raw.items()
    if kind == "repeat":
        return {kind: {**args, "steps": [_rename(s, local, suffix) for s in args["steps"]]}}
    fields = ("as", "ad_click", "click", "conversion")
    renamed = {k: (f"{v}{suffix}" if k in fields and v in local else v) for k, v in args.items()}
    return {kind: renamed}


def _check_references(steps: list[Step], source: str) -> None:
    defined: dict[str, str] = {}
    for index, step in enumerate(steps):
        for (kind, key), wanted in REFERENCES.items():
            if step.kind != kind or key not in step.args:
                continue
            target = step.args[key]
            if defined.get(target) not in wanted:
                raise ScenarioError(
                    f"{source}: steps[{index}].{kind}.{key}: no earlier "
                    f"{' or '.join(wanted)} step named {target!r}"
                )
        if step.name:
            if step.name in defined:
                raise ScenarioError(
                    f"{source}: steps[{index}].{step.kind}.as: name {step.name!r} used twice"
                )
            defined[step.name] = step.kind


def _check_expectations(expect: Mapping[str, Any], steps: list[Step], source: str) -> None:
    conversions = {s.name for s in steps if s.kind in ("conversion", "event")}
    for index, item in enumerate(expect.get("events") or []):
        name = item["conversion"]
        if name != "*" and name not in conversions:
            raise ScenarioError(
                f"{source}: expect.events[{index}].conversion: no conversion or event named "
                f"{name!r}"
            )


def scenario_from_mapping(data: Any, source: str, stem: str | None = None) -> Scenario:
    """Validate plain data and build a Scenario; `stem` is the file name the id must equal."""
    try:
        check(data, "scenario", source)
    except SchemaError as exc:
        raise ScenarioError(str(exc)) from None
    if stem is not None and data["id"] != stem:
        raise ScenarioError(f"{source}: id: {data['id']!r} must equal the file name {stem!r}")
    steps = _flatten(data["steps"])
    _check_references(steps, source)
    expect = data["expect"]
    _check_expectations(expect, steps, source)
    return Scenario(
        id=data["id"],
        title=data["title"],
        description=data["description"].strip(),
        tags=list(data["tags"]),
        platforms=list(data["platforms"]),
        steps=steps,
        expect=dict(expect),
        doc_url=data.get("doc_url", ""),
        settings=dict(data.get("settings") or {}),
        timeout_s=float(data.get("timeout_s", 15.0)),
        networks=_networks(data.get("networks") or [], source),
        alone=bool(data.get("alone", False)),
    )


def _networks(names: list[str], source: str) -> list[str]:
    known = personas.names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError(f"{source}: networks: unknown network {unknown[0]!r}; known: "
                            f"{', '.join(known)}")
    return list(names)


def load_scenario(path: str | Path) -> Scenario:
    """Read one scenario file; ScenarioError names the file and the key path."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path.name}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise ScenarioError(f"{path.name}: {where}{getattr(exc, 'problem', None) or exc}") from None
    scenario = scenario_from_mapping(data, path.name, stem=path.stem)
    return Scenario(**{**scenario.__dict__, "path": path})


def load_catalogue(directory: str | Path = SCENARIOS,
                   extra: Iterable[str | Path] = ()) -> list[Scenario]:
    """Every `*.yaml` scenario in the directory and in the `extra` folders (a team's own
    scenarios beside the built-in ones), ordered by id.

    An id found in two files is a ScenarioError naming both: which one runs must never depend
    on the order of the folders.
    """
    found: dict[str, Scenario] = {}
    for folder in [Path(directory), *map(Path, extra)]:
        if not folder.is_dir():
            raise ScenarioError(f"scenarios folder {folder}: no such folder")
        for path in sorted(folder.glob("*.yaml")):
            scenario = load_scenario(path)
            taken = found.setdefault(scenario.id, scenario)
            if taken is not scenario:
                raise ScenarioError(f"{path}: id {scenario.id!r} is already the scenario in "
                                    f"{taken.path}")
    return sorted(found.values(), key=lambda s: s.id)


def select(
    scenarios: list[Scenario],
    ids: Iterable[str] | None = None,
    tags: Iterable[str] | None = None,
) -> list[Scenario]:
    """Scenarios with any of the ids or any of the tags (all when neither is given).

    An unknown id is a ScenarioError: a typo in CI must not silently run nothing.
    """
    ids, tags = list(ids or []), set(tags or [])
    known = {s.id for s in scenarios}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ScenarioError(f"unknown scenario id(s): {', '.join(unknown)}")
    if not ids and not tags:
        return list(scenarios)
    return [s for s in scenarios if s.id in ids or tags & set(s.tags)]
