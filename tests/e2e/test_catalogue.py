"""Self-test of the suite: the reference receiver passes the whole catalogue, and every faulty
receiver is caught by the scenario aimed at its bug, with a finding naming the right rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main
from conformance.demo import demo
from conformance.paths import PROGRAM_SUFFIXES, RECEIVERS, receiver_path
from conformance.receiver_process import default_platforms
from conformance.results import ScenarioFinished, ScenarioResult
from conformance.scenario import load_catalogue
from conformance.sub_layout import layout_for
from simulator import personas
from simulator.personas import DEFAULT

pytestmark = pytest.mark.slow

EXPECTATIONS = yaml.safe_load(
    (Path(__file__).with_name("faulty_expectations.yaml")).read_text(encoding="utf-8")
)
FAULTY = sorted(p.stem for p in (RECEIVERS / "faulty").iterdir() if p.suffix in PROGRAM_SUFFIXES)
# Correct receivers unlike ours (other languages and shapes) and the one platform each forwards to.
POLYGLOT = {"tiktok_forwarder": "tiktok", "google_ads_forwarder": "google_ads",
            "meta_form_batcher": "meta"}
CATALOGUE = [s.id for s in load_catalogue()]
# Scenarios about other networks' postbacks, skipped when the run plays the default one.
OTHER_NETWORKS = {s.id for s in load_catalogue() if s.networks and DEFAULT not in s.networks}
SCENARIO_PLATFORMS = {s.id: set(s.platforms) for s in load_catalogue()}
SCENARIOS = {s.id: s for s in load_catalogue()}
FAILING = {"must", "error"}


def run_catalogue(receiver: str, platforms: list[str] | None = None, network: str | None = None,
                  ) -> dict[str, ScenarioResult]:
    """Every scenario's result; with `platforms`, the profile names only those (the others'
    scenarios are skipped, as for a user whose receiver forwards to fewer platforms)."""
    ids = None if platforms is None else {p: default_platforms()[p] for p in platforms}
    return {e.result.id: e.result for e in demo(receiver=receiver, platforms=ids, network=network)
            if isinstance(e, ScenarioFinished)}


def network_excluded(scenario_id: str, network: str | None) -> bool:
    """The scenario is about other networks than the one the receiver is run as, or fills a Sub
    ID that network's layout keeps for a long click ID's spill-over (CAKE)."""
    scenario = SCENARIOS[scenario_id]
    name = network or DEFAULT
    overflow = set(layout_for(personas.get(name)).click_id_overflow)
    return bool((scenario.networks and name not in scenario.networks)
                or scenario.own_subs & overflow)


def failing_rules(result: ScenarioResult) -> set[str]:
    return {f["rule"] for f in result.findings if f["severity"] in FAILING}


def explain(result: ScenarioResult) -> str:
    lines = [f"{result.id}: {result.status} {result.error or ''}"]
    lines += [f"  [{f['rule']}] {f['message']}" for f in result.findings
              if f["severity"] in FAILING][:5]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def reference_results() -> dict[str, ScenarioResult]:
    return run_catalogue("reference")


@pytest.mark.parametrize("scenario_id", CATALOGUE)
def test_reference_receiver_passes(
    reference_results: dict[str, ScenarioResult], scenario_id: str
) -> None:
    result = reference_results[scenario_id]
    assert result.status == ("skipped" if scenario_id in OTHER_NETWORKS else "passed"), \
        explain(result)


def test_every_faulty_receiver_has_expectations() -> None:
    assert sorted(EXPECTATIONS) == FAULTY
    for name, spec in EXPECTATIONS.items():
        assert set(spec["catches"]) <= set(CATALOGUE), name
        assert set(spec.get("platforms", default_platforms())) <= set(default_platforms()), name


def needs_launcher(program: Path) -> None:
    """Skip when the machine lacks the program's runtime (a JDK for a .java receiver)."""
    if program.suffix == ".java" and shutil.which("java") is None:
        pytest.skip("no java on PATH: a .java receiver needs JDK 11+")


@pytest.mark.parametrize("receiver", FAULTY)
def test_faulty_receiver_is_caught_by_the_right_rule_and_passes_the_rest(receiver: str) -> None:
    needs_launcher(receiver_path(f"faulty/{receiver}"))
    spec = EXPECTATIONS[receiver]
    results = run_catalogue(f"faulty/{receiver}", spec.get("platforms"), spec.get("network"))
    allowed = {rule for rules in spec["catches"].values() for rule in rules} | set(spec["also"])
    for scenario_id, rules in spec["catches"].items():
        result = results[scenario_id]
        assert result.status == "failed", explain(result)
        assert set(rules) <= failing_rules(result), explain(result)
    for scenario_id, result in results.items():
        if scenario_id in spec["catches"]:
            continue
        outside = not SCENARIO_PLATFORMS[scenario_id] <= set(spec.get("platforms",
                                                                     default_platforms()))
        outside = outside or network_excluded(scenario_id, spec.get("network"))
        assert result.status in ("passed", "failed", *(("skipped",) if outside else ())), \
            explain(result)
        unexpected = failing_rules(result) - allowed
        assert not unexpected, explain(result)


def test_every_polyglot_receiver_is_listed() -> None:
    assert sorted(POLYGLOT) == sorted(p.stem for p in (RECEIVERS / "polyglot").iterdir()
                                      if p.suffix in PROGRAM_SUFFIXES)


@pytest.mark.parametrize("receiver", sorted(POLYGLOT))
def test_polyglot_receiver_passes_every_scenario_of_its_platform(receiver: str) -> None:
    """No false alarm on a correct receiver whose shapes differ from the reference's."""
    needs_launcher(receiver_path(f"polyglot/{receiver}"))
    platform = POLYGLOT[receiver]
    # The polyglot receivers read the default network's postbacks; scenarios about another
    # network's dialect are for receivers that take that network's.
    scenarios = [s for s in load_catalogue() if platform in s.platforms
                 and (not s.networks or DEFAULT in s.networks)]
    results = [e.result for e in demo(receiver=f"polyglot/{receiver}", scenarios=scenarios,
                                      platforms={platform: default_platforms()[platform]})
               if isinstance(e, ScenarioFinished)]
    assert len(results) == len(scenarios)
    failed = [explain(r) for r in results if r.status != "passed"]
    assert not failed, "\n".join(failed)


def test_demo_command_passes_every_scenario_and_prints_the_report(tmp_path: Path) -> None:
    report = tmp_path / "demo.json"
    result = CliRunner().invoke(main, ["demo", "--json", str(report)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"postback-sim: running {len(CATALOGUE)} scenario(s) against")
    passed, skipped = len(CATALOGUE) - len(OTHER_NETWORKS), len(OTHER_NETWORKS)
    assert sum(" PASS " in line for line in lines) == passed
    assert f"{passed} passed, 0 failed, 0 errors, {skipped} skipped in " in result.stdout
    summary = yaml.safe_load(report.read_text(encoding="utf-8"))["summary"]
    assert summary == {"passed": passed, "failed": 0, "errors": 0, "skipped": skipped}
